// UPDATE (RFC 4271 section 4.3; IPv6 through MP_REACH/MP_UNREACH, RFC 4760), with RFC 7606
// error handling, and the packer that splits many prefixes into as few messages as fit.
#pragma once

#include <vector>

#include "bgp/codec_attributes.h"
#include "bgp/codec_error.h"
#include "bgp/codec_open.h"
#include "bgp/wire.h"
#include "model/ip.h"

namespace ironlb::bgp {

struct Update {
  std::vector<IPPrefix> withdrawn;  // IPv4 Withdrawn Routes field
  PathAttributes attrs;
  std::vector<IPPrefix> nlri;  // IPv4 NLRI field
  bool operator==(const Update&) const = default;

  // RFC 4724 section 2: End-of-RIB marker for `family`.
  bool IsEndOfRib(AfiSafi family) const;
};

struct DecodedUpdate {
  Update update;
  std::vector<Error> errors;  // attribute-discard / treat-as-withdraw, RFC 7606
  // The NLRI of this UPDATE must be handled as withdrawn.
  bool treat_as_withdraw() const;
};

// The whole message; its body must fit kMaxMessageLength (PackAnnouncements ensures it).
Bytes EncodeUpdate(const Update& u, const Negotiated& neg);
Result<DecodedUpdate> DecodeUpdate(ByteSpan body, const Negotiated& neg);
Bytes EncodeEndOfRib(AfiSafi family, const Negotiated& neg);

// UPDATEs announcing `prefixes` (one family) with `attrs`; for IPv6 the prefixes and
// `next_hops` go into MP_REACH_NLRI, for IPv4 into the NLRI field with NEXT_HOP = next_hops[0].
std::vector<Bytes> PackAnnouncements(const PathAttributes& attrs,
                                     const std::vector<IPAddr>& next_hops,
                                     const std::vector<IPPrefix>& prefixes, const Negotiated& neg);
// UPDATEs withdrawing `prefixes` (one family).
std::vector<Bytes> PackWithdrawals(const std::vector<IPPrefix>& prefixes, const Negotiated& neg);

}  // namespace ironlb::bgp
