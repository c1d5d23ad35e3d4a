// The certificates of the admin port's mutual TLS. almanacd's admin port (the CAF middleman, BASP)
// speaks TLS only, and both sides show a certificate chained to one private CA: the daemon its
// server certificate, each `almanac` CLI a client certificate. Without certificates given on the
// command line, the daemon makes its own on first start: a private CA (whose key is never
// written: no one can issue another certificate from it), one server and one client
// certificate, EC P-256, in DATA/credentials/. CAF checks no host name, so any certificate
// chained to the CA is let in: the CA must be used for Almanac only. See docs/SECURITY.md.
#pragma once

#include <almanac/result.hpp>

#include <filesystem>

namespace almanac::tools {

// One side's identity: its certificate (PEM), its private key (PEM, unencrypted) and the CA
// (PEM) the peer's certificate must chain to.
struct admin_tls_files {
  std::filesystem::path certificate;
  std::filesystem::path key;
  std::filesystem::path ca;
};

// The files of the generated set, named in the credentials directory (the CLI finds them there):
// admin-ca.pem, admin-server.pem, admin-server.key, admin-client.pem, admin-client.key.
admin_tls_files admin_server_files(const std::filesystem::path& credentials_dir);
admin_tls_files admin_client_files(const std::filesystem::path& credentials_dir);

// What ensure_admin_certificates found or made.
struct admin_credentials {
  admin_tls_files server;
  admin_tls_files client;
  // True when this call generated the set (first start, or an unfinished earlier attempt).
  bool generated = false;
};

// Returns the generated set in `credentials_dir`, making it first when admin-ca.pem is missing.
// The directory is created 0700 when missing; each file is written 0600 to a temporary name
// (O_EXCL), synced and renamed, admin-ca.pem last, so a crash mid-way leaves no CA and the next
// call starts over. An existing set is reused as it is, after check_admin_tls_files on both
// sides. Validity: ten years from generation. Not thread-safe for one directory: the caller holds
// the data directory's lock.
// Errors: invalid_input when the directory or a file is not owned by this user, is not a regular
// file or directory, is accessible to others (the directory or a key: any group or other bit; a
// certificate: writable by them), when admin-ca.pem exists without the other four, or when a file
// does not hold what it should; storage_error when a file cannot be created, written
// or renamed.
result<admin_credentials> ensure_admin_certificates(const std::filesystem::path& credentials_dir);

// Checks one side's files before they are handed to CAF (which would only fail per connection):
// each is readable, the certificate and CA parse as PEM certificates, the key as a PEM private key
// matching the certificate, the certificate verifies against the CA and is valid now, and the key
// is not readable by others. Errors: invalid_input naming the file and what is wrong with it.
result<void> check_admin_tls_files(const admin_tls_files& files);

} // namespace almanac::tools
