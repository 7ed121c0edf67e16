// The BGP codec's entry point: one whole message (header included) to a typed Message and
// back. Each message kind has its own codec_<kind>.h; this only dispatches on the header.
#pragma once

#include <variant>

#include "bgp/codec_header.h"
#include "bgp/codec_notification.h"
#include "bgp/codec_open.h"
#include "bgp/codec_route_refresh.h"
#include "bgp/codec_update.h"

namespace ironlb::bgp {

struct Keepalive {
  bool operator==(const Keepalive&) const = default;
};

using Message = std::variant<Open, DecodedUpdate, Notification, Keepalive, RouteRefresh>;

// Decodes exactly one message occupying all of `data`. `neg` matters only for UPDATE.
Result<Message> DecodeMessage(ByteSpan data, const Negotiated& neg);

}  // namespace ironlb::bgp
