// `result<T>`: a value, or an `error{code, message}`. Every fallible function in Almanac returns
// one; no exception crosses a module boundary. The message names the offending input
// ("cron day-of-week: 8 is outside 0-7").
#pragma once

#include <almanac/errc.hpp>

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace almanac {

struct error {
  errc code = errc::none;
  std::string message;

  friend bool operator==(const error&, const error&) = default;
};

template <class T>
class [[nodiscard]] result {
public:
  result(T value) : data_(std::move(value)) {}
  result(error err) : data_(std::move(err)) {}

  bool ok() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(data_); }
  const T& value() const& { assert(ok()); return std::get<0>(data_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const error& err() const& { assert(!ok()); return std::get<1>(data_); }
  error&& err() && { assert(!ok()); return std::get<1>(std::move(data_)); }
  errc code() const noexcept { return ok() ? errc::none : std::get<1>(data_).code; }

private:
  std::variant<T, error> data_;
};

template <>
class [[nodiscard]] result<void> {
public:
  result() = default;
  result(error err) : err_(std::move(err)) {}

  bool ok() const noexcept { return err_.code == errc::none; }
  explicit operator bool() const noexcept { return ok(); }
  const error& err() const& { return err_; }
  error&& err() && { return std::move(err_); }
  errc code() const noexcept { return err_.code; }

private:
  error err_;
};

// Shorthand for building an error: `return fail(errc::not_found, "job 42")`.
inline error fail(errc code, std::string message) { return error{code, std::move(message)}; }

} // namespace almanac
