// UPDATE path attributes: ORIGIN, AS_PATH/AS4_PATH (RFC 6793), NEXT_HOP, MED, LOCAL_PREF,
// ATOMIC_AGGREGATE, AGGREGATOR, COMMUNITIES (1997), LARGE_COMMUNITIES (8092), MP_REACH/MP_UNREACH
// (4760). Decoding applies RFC 7606: each problem is reported with its action, not thrown.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "bgp/codec_error.h"
#include "bgp/codec_open.h"
#include "bgp/wire.h"
#include "model/community.h"
#include "model/ip.h"

namespace ironlb::bgp {

enum class Origin : uint8_t { kIgp = 0, kEgp = 1, kIncomplete = 2 };

struct AsPathSegment {
  uint8_t type = 2;  // as_segment::kAsSequence
  std::vector<uint32_t> asns;
  bool operator==(const AsPathSegment&) const = default;
};
using AsPath = std::vector<AsPathSegment>;

struct Aggregator {
  uint32_t asn = 0;
  uint32_t address = 0;
  bool operator==(const Aggregator&) const = default;
};

// RFC 8092 large communities are the model's type: parsed once at validation.
using LargeCommunity = ironlb::LargeCommunity;

struct MpReach {
  AfiSafi family;
  std::vector<IPAddr> next_hops;  // IPv6: global, then optionally link-local
  std::vector<IPPrefix> nlri;
  bool operator==(const MpReach&) const = default;
};

struct MpUnreach {
  AfiSafi family;
  std::vector<IPPrefix> withdrawn;
  bool operator==(const MpUnreach&) const = default;
};

struct RawAttribute {
  uint8_t flags = 0;
  uint8_t type = 0;
  Bytes value;
  bool operator==(const RawAttribute&) const = default;
};

struct PathAttributes {
  std::optional<Origin> origin;
  std::optional<AsPath> as_path;
  std::optional<IPAddr> next_hop;  // IPv4 NEXT_HOP attribute
  std::optional<uint32_t> med;
  std::optional<uint32_t> local_pref;
  bool atomic_aggregate = false;
  std::optional<Aggregator> aggregator;
  std::vector<uint32_t> communities;
  std::optional<MpReach> mp_reach;
  std::optional<MpUnreach> mp_unreach;
  std::optional<AsPath> as4_path;  // only on sessions without 4-octet AS
  std::optional<Aggregator> as4_aggregator;
  std::vector<LargeCommunity> large_communities;
  std::vector<RawAttribute> unknown;  // unrecognised optional attributes, as received
  bool operator==(const PathAttributes&) const = default;
};

// Appends the attributes in type-code order. On a session without the 4-octet AS capability,
// AS_PATH carries AS_TRANS for wide ASNs and an AS4_PATH is added (RFC 6793 section 4.2.2).
void EncodeAttributes(Writer& w, const PathAttributes& attrs, const Negotiated& neg);

struct DecodedAttributes {
  PathAttributes attrs;
  std::vector<Error> errors;  // attribute-discard and treat-as-withdraw problems
};

// Decodes the Path Attributes field. A session-reset problem is returned as the error.
Result<DecodedAttributes> DecodeAttributes(ByteSpan data, const Negotiated& neg);

// RFC 6793 section 4.2.3: the AS path a 2-octet session really carries.
AsPath MergeAs4Path(const AsPath& as_path, const AsPath& as4_path);

}  // namespace ironlb::bgp
