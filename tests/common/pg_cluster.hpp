// A real, throwaway PostgreSQL for tests: initdb into a fresh temporary directory, a postmaster
// that listens on a unix socket in that directory only, stopped and removed when the object
// goes away (a watchdog removes it too if the test process dies first). As root, the server
// runs as the `postgres` user (initdb and postgres refuse root). Each test takes its own
// database (create_database()), so tests sharing a cluster stay independent.
#pragma once

#include <string>
#include <string_view>
#include <sys/types.h>

namespace almanac::test {

struct pg_cluster_options {
  // fsync off is fine where only the server's contract is tested (a process crash loses nothing
  // either way; an OS crash would). Kill and restart tests that count on the disk ask for it.
  bool fsync = false;
};

class pg_cluster {
public:
  // initdb and start. Throws std::runtime_error with the server's log on failure.
  explicit pg_cluster(pg_cluster_options opts = {});
  // Stops the server (immediately) and removes the directory.
  ~pg_cluster();
  pg_cluster(const pg_cluster&) = delete;
  pg_cluster& operator=(const pg_cluster&) = delete;

  // One cluster per test process (fsync off), started on first use.
  static pg_cluster& shared();

  // "host=DIR port=5432 user=almanac dbname=DB".
  std::string conninfo(std::string_view db = "postgres") const;
  // A new, empty database; its conninfo.
  std::string create_database();

  // pg_ctl stop -m fast (immediate = false) or -m immediate.
  void stop(bool immediate = false);
  // pg_ctl start, waiting until it accepts connections (after a kill -9 too).
  void start();
  // SIGKILL to the postmaster, then waits until it and its backends are gone.
  void kill_postmaster();
  pid_t postmaster_pid() const;

  const std::string& directory() const noexcept { return dir_; }

  // Runs one SQL statement; throws std::runtime_error with PostgreSQL's message on failure.
  static void exec(const std::string& conninfo, const std::string& sql);
  // The first column of the first row as text ("" when no row).
  static std::string query(const std::string& conninfo, const std::string& sql);

private:
  void run(const std::string& command, std::string_view what) const;

  pg_cluster_options opts_;
  std::string dir_;
  std::string data_;
  int next_db_ = 0;
  bool running_ = false;
};

} // namespace almanac::test
