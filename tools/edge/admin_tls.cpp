#include "tools/edge/admin_tls.hpp"

#include "tools/edge/credentials.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace almanac::tools {

namespace {

namespace fs = std::filesystem;

constexpr const char* ca_name = "admin-ca.pem";
constexpr long validity_seconds = 10L * 366 * 24 * 3600;

template <class T, void (*Free)(T*)>
struct deleter {
  void operator()(T* p) const noexcept { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO, BIO_free_all>>;
using store_ptr = std::unique_ptr<X509_STORE, deleter<X509_STORE, X509_STORE_free>>;
using store_ctx_ptr = std::unique_ptr<X509_STORE_CTX, deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, deleter<X509_EXTENSION, X509_EXTENSION_free>>;

// The newest OpenSSL error as text, and the queue cleared so that it does not leak into the next.
std::string ssl_error() {
  auto code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

// Owner and mode rules: owned by this user, no symlink, and none of `forbidden` set.
result<void> check_owner_mode(const fs::path& p, bool directory, mode_t forbidden) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0)
    return fail(errc::invalid_input, p.string() + ": " + std::strerror(errno));
  if (directory ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
    return fail(errc::invalid_input, p.string() + ": not a " +
                                       (directory ? "directory" : "regular file") +
                                       " (symbolic links are refused)");
  if (st.st_uid != ::geteuid())
    return fail(errc::invalid_input, p.string() + ": owned by uid " + std::to_string(st.st_uid) +
                                       ", not by this user (uid " +
                                       std::to_string(::geteuid()) + ")");
  if ((st.st_mode & forbidden) != 0)
    return fail(errc::invalid_input, p.string() + ": mode " + mode_text(st.st_mode) +
                                       " lets others " +
                                       ((forbidden & 044) ? "read it" : "change it") +
                                       ": chmod " + (directory ? "700" : "600") + " it");
  return {};
}

bool exists_no_follow(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

result<pkey_ptr> new_key() {
  pkey_ptr key{EVP_EC_gen("P-256")};
  if (!key)
    return fail(errc::storage_error, "cannot generate an EC P-256 key: " + ssl_error());
  return key;
}

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ext_ptr ext{X509V3_EXT_conf_nid(nullptr, &ctx, nid, value)};
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

enum class cert_role { ca, server, client };

// A certificate for `key` named `common_name`, signed by `issuer_key` (issuer: `issuer`, or the
// certificate itself for the CA).
result<x509_ptr> make_certificate(cert_role role, const char* common_name, EVP_PKEY* key,
                                  X509* issuer, EVP_PKEY* issuer_key) {
  x509_ptr cert{X509_new()};
  if (!cert)
    return fail(errc::storage_error, "cannot allocate a certificate: " + ssl_error());
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1)
    return fail(errc::storage_error, "no randomness for a serial number: " + ssl_error());
  serial[0] &= 0x7f; // a positive serial
  std::unique_ptr<BIGNUM, deleter<BIGNUM, BN_free>> bn{BN_bin2bn(serial, sizeof serial, nullptr)};
  auto* name = X509_get_subject_name(cert.get());
  bool ok = bn && X509_set_version(cert.get(), 2) == 1
            && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) != nullptr
            // An hour back: a client whose clock is a little behind still accepts it.
            && X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr
            && X509_gmtime_adj(X509_getm_notAfter(cert.get()), validity_seconds) != nullptr
            && X509_set_pubkey(cert.get(), key) == 1
            && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                          reinterpret_cast<const unsigned char*>("Almanac"), -1,
                                          -1, 0) == 1
            && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                          reinterpret_cast<const unsigned char*>(common_name), -1,
                                          -1, 0) == 1;
  X509* signer = issuer ? issuer : cert.get();
  ok = ok && X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) == 1;
  switch (role) {
    case cert_role::ca:
      ok = ok && add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")
           && add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign")
           && add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
      break;
    case cert_role::server:
    case cert_role::client:
      ok = ok && add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE")
           && add_ext(cert.get(), signer, NID_key_usage, "critical,digitalSignature")
           && add_ext(cert.get(), signer, NID_ext_key_usage,
                      role == cert_role::server ? "serverAuth" : "clientAuth")
           && add_ext(cert.get(), signer, NID_subject_key_identifier, "hash")
           && add_ext(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
      break;
  }
  ok = ok && X509_sign(cert.get(), issuer_key, EVP_sha256()) > 0;
  if (!ok)
    return fail(errc::storage_error,
                std::string{"cannot make the certificate '"} + common_name + "': " + ssl_error());
  return cert;
}

template <class Write>
result<std::string> to_pem(Write&& write, const char* what) {
  bio_ptr bio{BIO_new(BIO_s_mem())};
  if (!bio || !write(bio.get()))
    return fail(errc::storage_error, std::string{"cannot encode "} + what + ": " + ssl_error());
  char* data = nullptr;
  auto n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

result<std::string> cert_pem(X509* cert) {
  return to_pem([&](BIO* b) { return PEM_write_bio_X509(b, cert) == 1; }, "a certificate");
}

result<std::string> key_pem(EVP_PKEY* key) {
  return to_pem(
    [&](BIO* b) {
      return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    },
    "a private key");
}

result<void> sync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return fail(errc::storage_error, dir.string() + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0)
    return fail(errc::storage_error, "fsync " + dir.string() + ": " + std::strerror(err));
  return {};
}

// Writes `text` to DIR/NAME through DIR/.NAME.tmp: created with O_EXCL (never through a link an
// attacker left there), 0600, synced, then renamed over NAME.
result<void> write_file(const fs::path& dir, const std::string& name, const std::string& text) {
  auto tmp = dir / ("." + name + ".tmp");
  auto target = dir / name;
  // A leftover of a crash: the caller holds the data directory lock, so no one else writes it.
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT)
    return fail(errc::storage_error, "cannot remove " + tmp.string() + ": " + std::strerror(errno));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return fail(errc::storage_error, "cannot create " + tmp.string() + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return fail(errc::storage_error, "cannot write " + tmp.string() + ": " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  // The umask may have narrowed the mode further, never widened it; make it exactly 0600.
  if (::fchmod(fd, 0600) != 0 || ::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail(errc::storage_error, "cannot sync " + tmp.string() + ": " + std::strerror(err));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail(errc::storage_error,
                "cannot rename " + tmp.string() + " to " + name + ": " + std::strerror(err));
  }
  return {};
}

result<void> generate(const fs::path& dir) {
  auto ca_key = new_key();
  if (!ca_key)
    return std::move(ca_key).err();
  auto ca = make_certificate(cert_role::ca, "Almanac admin CA", ca_key->get(), nullptr,
                             ca_key->get());
  if (!ca)
    return std::move(ca).err();
  struct leaf {
    cert_role role;
    const char* common_name;
    admin_tls_files files;
  };
  const leaf leaves[] = {
    {cert_role::server, "almanacd admin", admin_server_files(dir)},
    {cert_role::client, "almanac admin client", admin_client_files(dir)},
  };
  for (const auto& l : leaves) {
    auto key = new_key();
    if (!key)
      return std::move(key).err();
    auto cert = make_certificate(l.role, l.common_name, key->get(), ca->get(), ca_key->get());
    if (!cert)
      return std::move(cert).err();
    auto kp = key_pem(key->get());
    if (!kp)
      return std::move(kp).err();
    auto cp = cert_pem(cert->get());
    if (!cp)
      return std::move(cp).err();
    if (auto w = write_file(dir, l.files.key.filename(), *kp); !w)
      return w;
    if (auto w = write_file(dir, l.files.certificate.filename(), *cp); !w)
      return w;
  }
  // The CA last, after the others are durable: its presence says the set is complete.
  if (auto s = sync_directory(dir); !s)
    return s;
  auto cap = cert_pem(ca->get());
  if (!cap)
    return std::move(cap).err();
  if (auto w = write_file(dir, ca_name, *cap); !w)
    return w;
  return sync_directory(dir);
}

result<x509_ptr> read_certificate(const fs::path& p) {
  bio_ptr bio{BIO_new_file(p.c_str(), "r")};
  if (!bio)
    return fail(errc::invalid_input, p.string() + ": cannot read it: " + std::strerror(errno));
  x509_ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
  if (!cert)
    return fail(errc::invalid_input, p.string() + ": not a PEM certificate (" + ssl_error() + ")");
  return cert;
}

} // namespace

admin_tls_files admin_server_files(const std::filesystem::path& dir) {
  return {dir / "admin-server.pem", dir / "admin-server.key", dir / ca_name};
}

admin_tls_files admin_client_files(const std::filesystem::path& dir) {
  return {dir / "admin-client.pem", dir / "admin-client.key", dir / ca_name};
}

result<void> check_admin_tls_files(const admin_tls_files& files) {
  auto cert = read_certificate(files.certificate);
  if (!cert)
    return std::move(cert).err();
  auto ca = read_certificate(files.ca);
  if (!ca)
    return std::move(ca).err();
  struct stat st {};
  if (::stat(files.key.c_str(), &st) == 0 && (st.st_mode & 004) != 0)
    return fail(errc::invalid_input, files.key.string() + ": a private key readable by everyone "
                                       "(mode " + mode_text(st.st_mode) + "): chmod 600 it");
  bio_ptr bio{BIO_new_file(files.key.c_str(), "r")};
  if (!bio)
    return fail(errc::invalid_input,
                files.key.string() + ": cannot read it: " + std::strerror(errno));
  pkey_ptr key{PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)};
  if (!key)
    return fail(errc::invalid_input, files.key.string() + ": not an unencrypted PEM private key (" +
                                       ssl_error() + ")");
  if (X509_check_private_key(cert->get(), key.get()) != 1) {
    ERR_clear_error();
    return fail(errc::invalid_input, files.key.string() + ": does not match the certificate " +
                                       files.certificate.string());
  }
  store_ptr store{X509_STORE_new()};
  store_ctx_ptr ctx{X509_STORE_CTX_new()};
  // Every certificate of the CA file, as CAF loads it (a bundle of several CAs is allowed).
  if (!store || !ctx || X509_STORE_load_file(store.get(), files.ca.c_str()) != 1
      || X509_STORE_CTX_init(ctx.get(), store.get(), cert->get(), nullptr) != 1)
    return fail(errc::invalid_input, "cannot check " + files.certificate.string() + ": " +
                                       ssl_error());
  if (X509_verify_cert(ctx.get()) != 1) {
    auto why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    ERR_clear_error();
    return fail(errc::invalid_input, files.certificate.string() + ": does not verify against " +
                                       files.ca.string() + ": " + why);
  }
  return {};
}

result<admin_credentials> ensure_admin_certificates(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return fail(errc::storage_error, "cannot create " + dir.string() + ": " + std::strerror(errno));
  if (auto r = check_owner_mode(dir, true, 077); !r)
    return std::move(r).err();
  admin_credentials out{admin_server_files(dir), admin_client_files(dir), false};
  if (!exists_no_follow(dir / ca_name)) {
    if (auto g = generate(dir); !g)
      return std::move(g).err();
    out.generated = true;
  }
  for (const auto* side : {&out.server, &out.client}) {
    for (const auto& p : {side->certificate, side->ca}) {
      if (!exists_no_follow(p))
        return fail(errc::invalid_input,
                    p.string() + " is missing while " + ca_name + " exists: remove " +
                      (dir / "admin-*").string() + " to generate a new set");
      if (auto r = check_owner_mode(p, false, 022); !r)
        return std::move(r).err();
    }
    if (!exists_no_follow(side->key))
      return fail(errc::invalid_input,
                  side->key.string() + " is missing while " + ca_name + " exists: remove " +
                    (dir / "admin-*").string() + " to generate a new set");
    if (auto r = check_owner_mode(side->key, false, 077); !r)
      return std::move(r).err();
    if (auto r = check_admin_tls_files(*side); !r)
      return std::move(r).err();
  }
  return out;
}

} // namespace almanac::tools
