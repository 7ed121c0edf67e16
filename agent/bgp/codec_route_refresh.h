// ROUTE-REFRESH (RFC 2918; the reserved octet is a subtype in RFC 7313).
// ironlb learns no routes, so it only answers a peer's refresh by resending its RIB-out.
#pragma once

#include <cstdint>

#include "bgp/codec_error.h"
#include "bgp/wire.h"

namespace ironlb::bgp {

struct RouteRefresh {
  uint16_t afi = 0;
  uint8_t subtype = 0;  // RFC 7313: 0 normal request, 1 BoRR, 2 EoRR
  uint8_t safi = 0;
  bool operator==(const RouteRefresh&) const = default;
};

Bytes EncodeRouteRefresh(const RouteRefresh& rr);
Result<RouteRefresh> DecodeRouteRefresh(ByteSpan body);

}  // namespace ironlb::bgp
