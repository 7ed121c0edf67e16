#include "bgp/codec.h"

// GCC 12 reports a false maybe-uninitialized when moving these variants (GCC PR 105562 family).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace ironlb::bgp {
namespace {
template <class T>
Result<Message> Lift(Result<T> r) {
  if (!r) return r.error();
  return Message(std::move(*r));
}
}  // namespace

Result<Message> DecodeMessage(ByteSpan data, const Negotiated& neg) {
  auto h = DecodeHeader(data);
  if (!h) return h.error();
  if (h->length != data.size())
    return SessionReset(
        error_code::kMessageHeaderError, header_subcode::kBadMessageLength,
        "length field disagrees with the message",
        Bytes{static_cast<uint8_t>(h->length >> 8), static_cast<uint8_t>(h->length)});
  ByteSpan body = data.subspan(kHeaderLength);
  switch (h->type) {
    case MessageType::kOpen: return Lift(DecodeOpen(body));
    case MessageType::kUpdate: return Lift(DecodeUpdate(body, neg));
    case MessageType::kNotification: return Lift(DecodeNotification(body));
    case MessageType::kKeepalive: {
      auto k = DecodeKeepalive(body);
      if (!k) return k.error();
      return Message(Keepalive{});
    }
    case MessageType::kRouteRefresh: return Lift(DecodeRouteRefresh(body));
  }
  return SessionReset(error_code::kMessageHeaderError, header_subcode::kBadMessageType, "type");
}

}  // namespace ironlb::bgp
