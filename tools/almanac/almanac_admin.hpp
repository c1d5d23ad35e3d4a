// The admin subcommands of `almanac`: jobs, show, create, pause, resume, run, delete, audit,
// runs, health. Each connects to almanacd's admin gate (tools/almanacd/admin_gate.hpp) with CAF's
// middleman, sends one request with the shared secret, prints a table (or with --json the objects
// of tools/edge/json_writer.hpp), and exits 0 on success, 1 on a refusal (the message on stderr),
// 2 on bad usage, 3 when the daemon cannot be reached (error_table.hpp).
#pragma once

#include <CLI/CLI.hpp>

namespace almanac::tools {

// Adds the global options (--connect HOST:PORT, default $ALMANAC_CONNECT or 127.0.0.1:7317;
// --secret, default $ALMANAC_SECRET; --json; --request-timeout) and the admin subcommands to
// `app`. A subcommand that does not succeed throws CLI::RuntimeError with its exit code.
void add_admin_commands(CLI::App& app);

} // namespace almanac::tools
