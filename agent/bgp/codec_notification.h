// NOTIFICATION (RFC 4271 section 4.5) with RFC 8203/9003 shutdown communication for Cease.
// Decoding never fails once the header is valid: a peer's NOTIFICATION always ends the session.
#pragma once

#include <cstdint>
#include <string>

#include "bgp/codec_error.h"
#include "bgp/wire.h"

namespace ironlb::bgp {

struct Notification {
  uint8_t code = 0;
  uint8_t subcode = 0;
  Bytes data;
  bool operator==(const Notification&) const = default;
  // "Cease/Administrative Shutdown" style text for status and logs.
  std::string str() const;
};

Bytes EncodeNotification(const Notification& n);
Notification NotificationFromError(const Error& e);
// Cease / Administrative Shutdown with an RFC 8203 shutdown communication (UTF-8, <= 255).
Notification AdministrativeShutdown(const std::string& message);
Result<Notification> DecodeNotification(ByteSpan body);

}  // namespace ironlb::bgp
