// `almanac`: the command-line client. Each subcommand lives in its own tools/almanac_<name>.cpp
// and is added here.
#include "tools/almanac/almanac_admin.hpp"
#include "tools/almanac/almanac_next.hpp"

#include <almanac/version.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  CLI::App app{"almanac: command-line client of the Almanac job scheduler"};
  app.set_version_flag("--version", std::string{"almanac "} + almanac::version);
  app.require_subcommand(1);
  almanac::tools::add_admin_commands(app);
  almanac::tools::add_next_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    // A subcommand already reported; it chose the exit code.
    return e.get_exit_code();
  } catch (const CLI::RequiredError& e) {
    // CLI11 says only "A subcommand is required" when the first word is not one: name it.
    auto extra = app.remaining();
    if (extra.empty())
      return app.exit(e) == 0 ? 0 : almanac::tools::exit_usage;
    std::fprintf(stderr, "almanac: unknown command '%s' (almanac --help lists them)\n",
                 extra.front().c_str());
    return almanac::tools::exit_usage;
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; any other parse error is bad input.
    int rc = app.exit(e);
    return rc == 0 ? 0 : almanac::tools::exit_usage;
  }
  return 0;
}
