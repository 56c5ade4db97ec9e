// Expected failures across NexusChain: one error type, at every edge.
//
// Library code returns expected<T> (a value or an error) or error (empty when all went
// well). An error is a code from errc, naming what the caller should do next rather than
// what went wrong inside, and a reason a user can read. Plain C++, no other library:
// compute/ and chain/ build without CAF (and with emscripten); the actors turn these
// into CAF's errors and back where messages cross (actors/errors.hpp).
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace nexus {

enum class errc : uint8_t {
  unavailable = 1, // transient: retry later or elsewhere
  invalid_input,   // the request is wrong: fix it
  corrupted,       // bytes or state failed a check: alert
  not_found,       // the named thing does not exist
  rejected,        // a result failed verification
  failed,          // the work itself failed, past its retries
  timeout,         // nothing came back in time
  exhausted,       // out of memory or another resource: smaller work may still fit
};

std::string to_string(errc x);

/// An expected failure, or none (default-constructed: false in a condition).
class error {
public:
  error() noexcept = default;

  error(errc code, std::string reason = {})
      : code_(code)
      , reason_(std::move(reason)) {}

  explicit operator bool() const noexcept {
    return code_ != errc{};
  }

  errc code() const noexcept {
    return code_;
  }

  /// What the user reads; empty when the code says it all.
  const std::string& reason() const noexcept {
    return reason_;
  }

  /// Errors compare by code only: `err == errc::not_found`, whatever its reason.
  friend bool operator==(const error& x, errc y) noexcept {
    return x.code_ == y;
  }

private:
  errc code_{};
  std::string reason_;
};

/// Error without a reason, used to compare: `err == errc::not_found`.
inline error make_error(errc x) {
  return error{x};
}

/// Error with a reason for the user, e.g. "A is 512x300 but B is 200x512".
inline error make_error(errc x, std::string reason) {
  return error{x, std::move(reason)};
}

/// True if `err` has code `x`, whatever its reason.
inline bool is(const error& err, errc x) {
  return err.code() == x;
}

/// The reason of an error as a user reads it: its text, or the name of its code.
std::string describe(const error& err);

/// A value of type T, or the error that stands in its place.
template <class T>
class expected {
public:
  using value_type = T;

  template <class U = T>
  requires std::
      is_convertible_v<U&&, T> &&(!std::is_same_v<std::remove_cvref_t<U>, expected>)&&(
          !std::is_same_v<std::remove_cvref_t<U>,
                          error>)&&(!std::is_same_v<std::remove_cvref_t<U>, errc>)
          expected(U&& x)
      : value_(std::in_place_index<0>, std::forward<U>(x)) {}

  expected(nexus::error err)
      : value_(std::in_place_index<1>, std::move(err)) {
    assert(std::get<1>(value_) && "an expected's error must be an error");
  }

  expected(errc code)
      : expected(nexus::error{code}) {}

  explicit operator bool() const noexcept {
    return value_.index() == 0;
  }

  bool has_value() const noexcept {
    return value_.index() == 0;
  }

  T& value() & {
    assert(has_value());
    return *std::get_if<0>(&value_);
  }

  const T& value() const& {
    assert(has_value());
    return *std::get_if<0>(&value_);
  }

  T&& value() && {
    assert(has_value());
    return std::move(*std::get_if<0>(&value_));
  }

  T& operator*() & {
    return value();
  }

  const T& operator*() const& {
    return value();
  }

  T&& operator*() && {
    return std::move(*this).value();
  }

  T* operator->() {
    return &value();
  }

  const T* operator->() const {
    return &value();
  }

  /// The error; only when there is no value.
  const nexus::error& error() const& {
    assert(!has_value());
    return *std::get_if<1>(&value_);
  }

  nexus::error&& error() && {
    assert(!has_value());
    return std::move(*std::get_if<1>(&value_));
  }

private:
  std::variant<T, nexus::error> value_;
};

} // namespace nexus
