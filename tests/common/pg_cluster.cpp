#include "tests/common/pg_cluster.hpp"

#include <libpq-fe.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <pwd.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace almanac::test {

namespace {

const std::string bin = "/usr/lib/postgresql/15/bin/";
constexpr int port = 5432;

bool as_root() {
  return ::geteuid() == 0;
}

// The server's tools refuse root: as root they run as `postgres`, from a directory it can read.
std::string as_server(const std::string& dir, const std::string& command) {
  if (!as_root())
    return "cd " + dir + " && " + command;
  return "cd " + dir + " && runuser -u postgres -- " + command;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

} // namespace

pg_cluster::pg_cluster(pg_cluster_options opts) : opts_(opts) {
  std::string pattern = (std::filesystem::temp_directory_path() / "almanac-pg-XXXXXX").string();
  if (!::mkdtemp(pattern.data()))
    throw std::runtime_error("pg_cluster: mkdtemp failed");
  dir_ = pattern;
  data_ = dir_ + "/data";
  if (as_root()) {
    auto* pw = ::getpwnam("postgres");
    if (!pw || ::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw std::runtime_error("pg_cluster: cannot hand " + dir_ + " to the postgres user");
  }
  // Removes the cluster if this process dies without running destructors (a crash, abort).
  std::string watchdog = "(while kill -0 " + std::to_string(::getpid())
                         + " 2>/dev/null; do sleep 1; done; "
                         + as_server(dir_, bin + "pg_ctl -D " + data_ + " stop -m immediate")
                         + "; rm -rf " + dir_ + ") </dev/null >/dev/null 2>&1 &";
  if (std::system(watchdog.c_str()) != 0)
    throw std::runtime_error("pg_cluster: cannot start the watchdog");
  run(as_server(dir_, bin + "initdb -D " + data_
                        + " -A trust -N -U almanac -E UTF8 --locale=C --no-instructions > " + dir_
                        + "/initdb.log 2>&1"),
      "initdb");
  start();
}

pg_cluster::~pg_cluster() {
  if (running_) {
    try {
      stop(true);
    } catch (...) {
      // nop: the watchdog stops it when the process exits
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

pg_cluster& pg_cluster::shared() {
  static pg_cluster cluster;
  return cluster;
}

void pg_cluster::run(const std::string& command, std::string_view what) const {
  int rc = std::system(command.c_str());
  if (rc != 0) {
    throw std::runtime_error("pg_cluster: " + std::string{what} + " failed (" + std::to_string(rc)
                             + "): " + read_file(dir_ + "/initdb.log") + read_file(dir_ + "/log"));
  }
}

std::string pg_cluster::conninfo(std::string_view db) const {
  return "host=" + dir_ + " port=" + std::to_string(port)
         + " user=almanac dbname=" + std::string{db};
}

std::string pg_cluster::create_database() {
  auto name = "t" + std::to_string(++next_db_);
  exec(conninfo(), "CREATE DATABASE " + name);
  return conninfo(name);
}

void pg_cluster::start() {
  std::string settings = "-c listen_addresses= -k " + dir_ + " -p " + std::to_string(port)
                         + " -c shared_buffers=16MB -c max_connections=50";
  if (!opts_.fsync)
    settings += " -c fsync=off -c full_page_writes=off";
  // After a kill -9 the old backends may hold the shared memory for a moment: retry a while.
  for (int tries = 0;; ++tries) {
    std::string cmd =
      as_server(dir_, bin + "pg_ctl -D " + data_ + " -l " + dir_ + "/log -w -t 60 -o \"" + settings
                        + "\" start >/dev/null 2>&1");
    if (std::system(cmd.c_str()) == 0)
      break;
    if (tries == 30)
      run("false", "pg_ctl start");
    std::this_thread::sleep_for(std::chrono::seconds{1});
  }
  running_ = true;
}

void pg_cluster::stop(bool immediate) {
  run(as_server(dir_, bin + "pg_ctl -D " + data_ + " -w -t 60 stop -m "
                        + (immediate ? "immediate" : "fast") + " >/dev/null 2>&1"),
      "pg_ctl stop");
  running_ = false;
}

pid_t pg_cluster::postmaster_pid() const {
  auto text = read_file(data_ + "/postmaster.pid");
  return static_cast<pid_t>(std::atol(text.c_str()));
}

void pg_cluster::kill_postmaster() {
  auto pid = postmaster_pid();
  if (pid <= 0)
    throw std::runtime_error("pg_cluster: no postmaster.pid in " + data_);
  ::kill(pid, SIGKILL);
  // Gone, or a zombie nobody reaped yet. Its backends notice its death and exit by themselves;
  // start() waits for them to release the shared memory.
  auto stat_path = "/proc/" + std::to_string(pid) + "/stat";
  for (int i = 0; i < 600; ++i) {
    auto stat = read_file(stat_path);
    auto close = stat.rfind(')');
    if (stat.empty()
        || (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z'))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  running_ = false;
}

void pg_cluster::exec(const std::string& conninfo, const std::string& sql) {
  static_cast<void>(query(conninfo, sql));
}

std::string pg_cluster::query(const std::string& conninfo, const std::string& sql) {
  auto* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    throw std::runtime_error("pg_cluster: cannot connect: " + msg);
  }
  auto* r = PQexec(conn, sql.c_str());
  auto st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    std::string msg = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(conn);
    throw std::runtime_error("pg_cluster: " + sql + ": " + msg);
  }
  std::string out;
  if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) > 0)
    out = PQgetvalue(r, 0, 0);
  PQclear(r);
  PQfinish(conn);
  return out;
}

} // namespace almanac::test
