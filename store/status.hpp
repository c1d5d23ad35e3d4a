// The outcome of a store call, in the manner of rocksdb::Status: a code and a message that names
// the key, job or sequence concerned. The store speaks only status; the actors turn it into an
// almanac::error once, at their boundary, with to_error().
#pragma once

#include <almanac/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace almanac::store {

class [[nodiscard]] status {
public:
  enum class code : std::uint8_t {
    ok = 0,
    // The key, job or projection entry does not exist.
    not_found,
    // Stored bytes failed a checksum, did not decode, or contradict their key.
    corruption,
    // The file system failed, or the data directory is in use by another process.
    io_error,
    // The disk is full: free space, then retry.
    no_space,
    // An append's expected sequence is not the stream's highest sequence: re-read and retry.
    conflict,
    // The caller passed something the store refuses (non-consecutive sequences, wrong job id,
    // an append on a read-only instance).
    invalid_argument,
    // The data directory was written by a newer format version: upgrade Almanac.
    newer_format,
    // The log is closing or closed, or its server cannot be reached: nothing was written.
    unavailable,
    // An event of a type this build does not know: upgrade, or quarantine the job.
    unknown_event,
    // The append may or may not be in the log: the connection to the server went during its
    // COMMIT. Re-read the stream before deciding anything else on it.
    outcome_unknown,
  };

  status() = default;

  static status not_found(std::string msg) { return {code::not_found, std::move(msg)}; }
  static status corruption(std::string msg) { return {code::corruption, std::move(msg)}; }
  static status io_error(std::string msg) { return {code::io_error, std::move(msg)}; }
  static status no_space(std::string msg) { return {code::no_space, std::move(msg)}; }
  static status conflict(std::string msg) { return {code::conflict, std::move(msg)}; }
  static status invalid_argument(std::string msg) {
    return {code::invalid_argument, std::move(msg)};
  }
  static status newer_format(std::string msg) { return {code::newer_format, std::move(msg)}; }
  static status unavailable(std::string msg) { return {code::unavailable, std::move(msg)}; }
  static status outcome_unknown(std::string msg) {
    return {code::outcome_unknown, std::move(msg)};
  }
  static status unknown_event(std::string msg) { return {code::unknown_event, std::move(msg)}; }
  // Stored bytes that the codec refused, keeping why: an unknown type or a newer format version
  // is not corruption, and the operator's remedy differs (upgrade, quarantine).
  static status undecodable(const error& decode_error, std::string msg) {
    switch (decode_error.code) {
      case errc::unknown_event: return unknown_event(std::move(msg));
      case errc::newer_format: return newer_format(std::move(msg));
      default: return corruption(std::move(msg));
    }
  }

  bool ok() const noexcept { return code_ == code::ok; }
  bool is_ok() const noexcept { return ok(); }
  explicit operator bool() const noexcept { return ok(); }
  bool is_not_found() const noexcept { return code_ == code::not_found; }
  bool is_corruption() const noexcept { return code_ == code::corruption; }
  bool is_conflict() const noexcept { return code_ == code::conflict; }
  bool is_outcome_unknown() const noexcept { return code_ == code::outcome_unknown; }

  code get_code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

  // "conflict: job 00000000000002a1 expected seq 3, highest is 4"; "ok" when ok.
  std::string to_string() const;

private:
  status(code c, std::string msg) : code_(c), message_(std::move(msg)) {}

  code code_ = code::ok;
  std::string message_;
};

// The stable name of a code ("no_space").
std::string_view to_string(status::code c) noexcept;

// The errc of a failed status, for the actor boundary: conflict -> errc::conflict, corruption ->
// errc::corrupt_event, newer_format -> errc::newer_format, unknown_event -> errc::unknown_event, unavailable -> errc::unavailable,
// not_found -> errc::not_found, invalid_argument -> errc::invalid_input, everything else ->
// errc::storage_error. The message is kept. An ok status maps to errc::none.
error to_error(const status& st);

} // namespace almanac::store
