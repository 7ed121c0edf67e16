#include "bgp/codec_route_refresh.h"

#include "bgp/codec_constants.h"
#include "bgp/codec_header.h"

namespace ironlb::bgp {
namespace {
constexpr size_t kRouteRefreshBodyLength = 4;
}

Bytes EncodeRouteRefresh(const RouteRefresh& rr) {
  Bytes body;
  Writer w(body);
  w.U16(rr.afi);
  w.U8(rr.subtype);
  w.U8(rr.safi);
  return EncodeMessage(MessageType::kRouteRefresh, body);
}

Result<RouteRefresh> DecodeRouteRefresh(ByteSpan body) {
  if (body.size() != kRouteRefreshBodyLength)
    return SessionReset(error_code::kRouteRefreshMessageError,
                        route_refresh_subcode::kInvalidMessageLength, "bad ROUTE-REFRESH length");
  Reader r(body);
  RouteRefresh rr;
  rr.afi = r.U16();
  rr.subtype = r.U8();
  rr.safi = r.U8();
  return rr;
}

}  // namespace ironlb::bgp
