// Credentials without a set-up step: almanacd generates the HTTP token and the admin secret on
// its first start into DATA/credentials/ (0700, files 0600), and the clients find them again —
// by `--data DIR`, or through a per-user connection record that almanacd leaves in the runtime
// directory, keyed by its admin endpoint (as Jupyter does with its runtime files). Loopback is
// not an authentication boundary: every local user can connect to 127.0.0.1, only the daemon's
// owner can read these files.
#pragma once

#include "tools/edge/endpoint.hpp"

#include <almanac/result.hpp>

#include <filesystem>
#include <optional>
#include <string>

#include <sys/types.h>

namespace almanac::tools {

// The files in DATA/credentials/ (the admin port's certificates live beside them).
inline constexpr const char* credentials_dir_name = "credentials";
inline constexpr const char* http_token_file = "http-token";
inline constexpr const char* admin_secret_file = "admin-secret";

// The shortest secret or token accepted anywhere: 16 bytes of randomness is the floor.
inline constexpr std::size_t min_credential_bytes = 16;

// A file mode as an operator writes it for chmod: "0644", "1777".
std::string mode_text(mode_t m);

// Writes `content` to `file`, mode exactly 0600: to a temporary of a random name created with
// O_EXCL (never through a link someone left there), fsync'd, then moved into place and the
// directory synced. With `keep_existing` it is linked instead of renamed, so an existing file
// wins; the result says whether this call's content was placed. Errors: storage_error naming
// the path.
result<bool> write_private_file(const std::filesystem::path& file, const std::string& content,
                                bool keep_existing);

// DATA/credentials, created 0700 when `create` and missing. Errors: invalid_input when it is not
// a directory, belongs to another user or is accessible to others (its files are refused then
// too: a group could have swapped them); storage_error naming the path on a system error.
result<std::filesystem::path> credentials_dir(const std::filesystem::path& data_dir, bool create);

// One credential from a file an operator or almanacd wrote: a regular file (never a symlink),
// owned by this user, no group or other permission bits, one line of at least 16 and at most
// 4096 printable bytes (a trailing newline is ignored). Errors: invalid_input or storage_error,
// naming the file and never its content.
result<std::string> read_credential_file(const std::filesystem::path& file);

// The credential in `file`, or a new one (32 random bytes, hex) written there when there is
// none: to a 0600 temporary, fsync'd, then linked into place, so a reader never sees half a
// file and a second writer never replaces the first one's value. `generated` says which.
result<std::string> load_or_generate_credential(const std::filesystem::path& file,
                                                bool& generated);

// Where a running almanacd can be reached, and the data directory whose credentials it uses.
struct connection_record {
  std::string admin;             // HOST:PORT as bound
  std::string http;              // HOST:PORT as bound, or "off"
  bool https = false;            // the HTTP port speaks TLS
  std::filesystem::path data;    // absolute
  long pid = 0;
  // The files the daemon read its admin secret and HTTP token from (absolute), empty when they
  // were given on its command line or in its environment: clients then need them the same way.
  std::filesystem::path secret_file;
  std::filesystem::path token_file;
  // The client side of the admin port's mutual TLS that the daemon generated (absolute), empty
  // when it was given a CA of the operator's: clients then need their own certificate.
  std::filesystem::path admin_client_cert;
  std::filesystem::path admin_client_key;
  std::filesystem::path admin_ca;
};

// $XDG_RUNTIME_DIR/almanac, else ~/.local/state/almanac/run: private to this user (0700).
std::filesystem::path runtime_dir();

// Writes `r` to DATA/almanacd.endpoint and to the runtime directory under the admin endpoint's
// name, replacing an older record of a daemon that held the same port. Errors: storage_error.
result<void> write_connection_record(const connection_record& r);

// Removes the runtime record of `admin`, if it is still this process's.
void remove_connection_record(const std::string& admin);

// The record of the daemon on `admin` in this user's runtime directory, or of the daemon on
// `data_dir`. Nullopt when there is none or it is not trustworthy (wrong owner, open to others).
std::optional<connection_record> find_connection_record(const endpoint& admin);
std::optional<connection_record> data_dir_connection_record(const std::filesystem::path& data_dir);

} // namespace almanac::tools
