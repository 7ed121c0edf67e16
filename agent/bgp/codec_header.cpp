#include "bgp/codec_header.h"

#include <string>

namespace ironlb::bgp {
namespace {

// Minimum whole-message lengths, RFC 4271 section 4 and RFC 2918.
constexpr size_t kMinOpenLength = 29;
constexpr size_t kMinUpdateLength = 23;
constexpr size_t kMinNotificationLength = 21;
constexpr size_t kKeepaliveLength = 19;
constexpr size_t kRouteRefreshLength = 23;

Error BadLength(uint16_t len) {
  // RFC 4271 6.1: the data field carries the erroneous Length field.
  return SessionReset(error_code::kMessageHeaderError, header_subcode::kBadMessageLength,
                      "bad message length " + std::to_string(len),
                      Bytes{static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)});
}

}  // namespace

Result<Header> DecodeHeader(ByteSpan data) {
  if (data.size() < kHeaderLength)
    return SessionReset(error_code::kMessageHeaderError, header_subcode::kBadMessageLength,
                        "short header");
  Reader r(data);
  ByteSpan marker = r.Bytes(kMarkerLength);
  for (uint8_t b : marker)
    if (b != 0xff)
      return SessionReset(error_code::kMessageHeaderError,
                          header_subcode::kConnectionNotSynchronized, "marker not all ones");
  Header h;
  h.length = r.U16();
  const uint8_t type = r.U8();
  if (h.length < kHeaderLength || h.length > kMaxMessageLength) return BadLength(h.length);
  size_t min = 0;
  bool fixed = false;
  switch (static_cast<MessageType>(type)) {
    case MessageType::kOpen: min = kMinOpenLength; break;
    case MessageType::kUpdate: min = kMinUpdateLength; break;
    case MessageType::kNotification: min = kMinNotificationLength; break;
    case MessageType::kKeepalive: min = kKeepaliveLength, fixed = true; break;
    case MessageType::kRouteRefresh: min = kRouteRefreshLength, fixed = true; break;
    default:
      return SessionReset(error_code::kMessageHeaderError, header_subcode::kBadMessageType,
                          "bad message type " + std::to_string(type), Bytes{type});
  }
  if (h.length < min || (fixed && h.length != min)) {
    if (static_cast<MessageType>(type) == MessageType::kRouteRefresh)
      // RFC 7313 section 5: its own error code.
      return SessionReset(
          error_code::kRouteRefreshMessageError, route_refresh_subcode::kInvalidMessageLength,
          "bad ROUTE-REFRESH length " + std::to_string(h.length), Bytes(data.begin(), data.end()));
    return BadLength(h.length);
  }
  h.type = static_cast<MessageType>(type);
  return h;
}

Bytes EncodeMessage(MessageType type, ByteSpan body) {
  Bytes out;
  out.reserve(kHeaderLength + body.size());
  out.assign(kMarkerLength, 0xff);
  Writer w(out);
  w.U16(static_cast<uint16_t>(kHeaderLength + body.size()));
  w.U8(static_cast<uint8_t>(type));
  w.Bytes(body);
  return out;
}

Bytes EncodeKeepalive() {
  return EncodeMessage(MessageType::kKeepalive, {});
}

Result<bool> DecodeKeepalive(ByteSpan body) {
  if (!body.empty()) return BadLength(static_cast<uint16_t>(kHeaderLength + body.size()));
  return true;
}

}  // namespace ironlb::bgp
