// Decode errors of the BGP codec: the NOTIFICATION code/subcode/data to send and the
// RFC 7606 action the session must take. Result<T> carries either a value or such an error.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace ironlb::bgp {

using Bytes = std::vector<uint8_t>;

// RFC 7606 section 2, from the mildest to the most severe.
enum class ErrorAction : uint8_t {
  kAttributeDiscard = 0,  // drop the attribute, keep the route
  kTreatAsWithdraw = 1,   // treat the UPDATE's NLRI as withdrawn
  kSessionReset = 2,      // send NOTIFICATION and close
};

const char* ErrorActionName(ErrorAction a);

struct Error {
  uint8_t code = 0;
  uint8_t subcode = 0;
  Bytes data;  // NOTIFICATION data field
  ErrorAction action = ErrorAction::kSessionReset;
  std::string reason;  // for logs and `ironlbctl bgp show`

  std::string str() const;
  bool operator==(const Error&) const = default;
};

inline Error SessionReset(uint8_t code, uint8_t subcode, std::string reason, Bytes data = {}) {
  return Error{code, subcode, std::move(data), ErrorAction::kSessionReset, std::move(reason)};
}

// A value or the error that prevented decoding it (always a session reset when it escapes
// a message decoder: lesser RFC 7606 actions are reported beside the value instead).
template <class T>
class Result {
 public:
  Result(T v) : v_(std::move(v)) {}      // NOLINT: implicit by design
  Result(Error e) : v_(std::move(e)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace ironlb::bgp
