#include "bgp/codec_attributes.h"

#include <string>

#include "bgp/codec_constants.h"
#include "bgp/codec_nlri.h"

namespace ironlb::bgp {
namespace {

using namespace attr_flag;  // NOLINT: flag names read better bare here

constexpr uint8_t kWellKnown = kTransitive;
constexpr uint8_t kOptionalTransitive = kOptional | kTransitive;
constexpr uint8_t kOptionalNonTransitive = kOptional;
constexpr size_t kMaxShortAttributeLength = 255;
constexpr size_t kCommunityLength = 4;
constexpr size_t kLargeCommunityLength = 12;
constexpr size_t kIpv4Length = 4;
constexpr size_t kIpv6Length = 16;
constexpr size_t kU32Length = 4;
constexpr size_t kAggregator2Length = 6;
constexpr size_t kAggregator4Length = 8;
constexpr size_t kMaxSegmentAsns = 255;
constexpr uint32_t kTwoOctetAsMax = 0xffff;

// ---- encoding -------------------------------------------------------------------

void PutAttribute(Writer& w, uint8_t flags, uint8_t type, const Bytes& value,
                  bool force_extended = false) {
  const bool ext = force_extended || value.size() > kMaxShortAttributeLength;
  w.U8(static_cast<uint8_t>(ext ? flags | kExtendedLength : flags & ~kExtendedLength));
  w.U8(type);
  if (ext)
    w.U16(static_cast<uint16_t>(value.size()));
  else
    w.U8(static_cast<uint8_t>(value.size()));
  w.Bytes(value);
}

Bytes AsPathBytes(const AsPath& path, bool four_octet, bool* needs_as4) {
  Bytes v;
  Writer w(v);
  for (const AsPathSegment& seg : path) {
    // A segment holds at most 255 ASNs; longer ones are split into several.
    for (size_t at = 0; at < seg.asns.size() || (at == 0 && seg.asns.empty());
         at += kMaxSegmentAsns) {
      const size_t n = std::min(kMaxSegmentAsns, seg.asns.size() - at);
      w.U8(seg.type);
      w.U8(static_cast<uint8_t>(n));
      for (size_t i = at; i < at + n; ++i) {
        const uint32_t asn = seg.asns[i];
        if (four_octet) {
          w.U32(asn);
        } else if (asn > kTwoOctetAsMax) {
          w.U16(kAsTrans);
          if (needs_as4) *needs_as4 = true;
        } else {
          w.U16(static_cast<uint16_t>(asn));
        }
      }
      if (seg.asns.empty()) break;
    }
  }
  return v;
}

Bytes AggregatorBytes(const Aggregator& a, bool four_octet) {
  Bytes v;
  Writer w(v);
  if (four_octet)
    w.U32(a.asn);
  else
    w.U16(a.asn > kTwoOctetAsMax ? kAsTrans : static_cast<uint16_t>(a.asn));
  w.U32(a.address);
  return v;
}

Bytes MpReachBytes(const MpReach& m) {
  Bytes v;
  Writer w(v);
  w.U16(m.family.afi);
  w.U8(m.family.safi);
  size_t nh_len = 0;
  for (const IPAddr& a : m.next_hops) nh_len += a.is_v4() ? kIpv4Length : kIpv6Length;
  w.U8(static_cast<uint8_t>(nh_len));
  for (const IPAddr& a : m.next_hops) {
    auto b = a.bytes();
    w.Bytes(ByteSpan(b.data(), a.is_v4() ? kIpv4Length : kIpv6Length));
  }
  w.U8(0);  // reserved
  for (const IPPrefix& p : m.nlri) EncodePrefix(w, p);
  return v;
}

Bytes MpUnreachBytes(const MpUnreach& m) {
  Bytes v;
  Writer w(v);
  w.U16(m.family.afi);
  w.U8(m.family.safi);
  for (const IPPrefix& p : m.withdrawn) EncodePrefix(w, p);
  return v;
}

Bytes U32Bytes(uint32_t x) {
  Bytes v;
  Writer(v).U32(x);
  return v;
}

// ---- decoding -------------------------------------------------------------------

struct RawView {
  uint8_t flags;
  uint8_t type;
  ByteSpan value;
  ByteSpan whole;  // flags..value, the NOTIFICATION data for attribute errors
};

Error AttrError(ErrorAction action, uint8_t subcode, const RawView& a, const std::string& what) {
  return Error{error_code::kUpdateMessageError, subcode, Bytes(a.whole.begin(), a.whole.end()),
               action, "attribute " + std::to_string(a.type) + ": " + what};
}

std::optional<AsPath> ParseAsPath(ByteSpan v, bool four_octet) {
  AsPath path;
  Reader r(v);
  while (!r.empty()) {
    AsPathSegment seg;
    seg.type = r.U8();
    const uint8_t count = r.U8();
    if (r.failed() || count == 0 || seg.type < as_segment::kAsSet ||
        seg.type > as_segment::kAsConfedSet)
      return std::nullopt;
    for (uint8_t i = 0; i < count; ++i) seg.asns.push_back(four_octet ? r.U32() : r.U16());
    if (r.failed()) return std::nullopt;
    path.push_back(std::move(seg));
  }
  return path;
}

std::optional<Aggregator> ParseAggregator(ByteSpan v, bool four_octet) {
  if (v.size() != (four_octet ? kAggregator4Length : kAggregator2Length)) return std::nullopt;
  Reader r(v);
  Aggregator a;
  a.asn = four_octet ? r.U32() : r.U16();
  a.address = r.U32();
  return a;
}

std::optional<std::vector<IPAddr>> ParseNextHops(ByteSpan nh, uint16_t afi) {
  std::vector<IPAddr> out;
  if (afi == kAfiIpv4 && nh.size() == kIpv4Length) {
    out.push_back(IPAddr::FromBytes(Family::kV4, nh.data()));
  } else if (nh.size() == kIpv6Length || nh.size() == 2 * kIpv6Length) {
    // IPv6 global [+ link-local]; also an IPv4 AFI with IPv6 next hop (RFC 8950).
    for (size_t at = 0; at < nh.size(); at += kIpv6Length)
      out.push_back(IPAddr::FromBytes(Family::kV6, nh.data() + at));
  } else {
    return std::nullopt;
  }
  return out;
}

std::optional<Family> UnicastFamily(AfiSafi f) {
  if (f.safi != kSafiUnicast) return std::nullopt;
  if (f.afi == kAfiIpv4) return Family::kV4;
  if (f.afi == kAfiIpv6) return Family::kV6;
  return std::nullopt;
}

// The flags an attribute must carry (Optional and Transitive bits), if it is known.
std::optional<uint8_t> ExpectedFlags(uint8_t type) {
  switch (type) {
    case attr_type::kOrigin:
    case attr_type::kAsPath:
    case attr_type::kNextHop:
    case attr_type::kLocalPref:
    case attr_type::kAtomicAggregate: return kWellKnown;
    case attr_type::kMultiExitDisc:
    case attr_type::kMpReachNlri:
    case attr_type::kMpUnreachNlri: return kOptionalNonTransitive;
    case attr_type::kAggregator:
    case attr_type::kCommunities:
    case attr_type::kAs4Path:
    case attr_type::kAs4Aggregator:
    case attr_type::kLargeCommunities: return kOptionalTransitive;
  }
  return std::nullopt;
}

// RFC 7606 section 7: the action for a malformed instance of each attribute.
ErrorAction MalformedAction(uint8_t type) {
  switch (type) {
    case attr_type::kAtomicAggregate:
    case attr_type::kAggregator:
    case attr_type::kAs4Path:
    case attr_type::kAs4Aggregator: return ErrorAction::kAttributeDiscard;
    case attr_type::kMpReachNlri:
    case attr_type::kMpUnreachNlri: return ErrorAction::kSessionReset;
  }
  return ErrorAction::kTreatAsWithdraw;
}

class AttributeDecoder {
 public:
  AttributeDecoder(const Negotiated& neg, DecodedAttributes& out) : neg_(neg), out_(out) {}

  // Returns a session-reset error, or nullopt after recording lesser problems.
  std::optional<Error> Decode(const RawView& a) {
    auto& at = out_.attrs;
    const uint8_t ot = a.flags & (kOptional | kTransitive);
    auto expected = ExpectedFlags(a.type);
    if (!expected) return Unknown(a);
    if (seen_[a.type]) {
      // RFC 7606 section 3(g).
      if (a.type == attr_type::kMpReachNlri || a.type == attr_type::kMpUnreachNlri)
        return AttrError(ErrorAction::kSessionReset, update_subcode::kMalformedAttributeList, a,
                         "repeated");
      out_.errors.push_back(AttrError(ErrorAction::kAttributeDiscard,
                                      update_subcode::kMalformedAttributeList, a, "repeated"));
      return std::nullopt;
    }
    seen_[a.type] = true;
    if (ot != *expected)
      return Malformed(a, update_subcode::kAttributeFlagsError, "flags conflict");
    Reader r(a.value);
    const size_t len = a.value.size();
    switch (a.type) {
      case attr_type::kOrigin: {
        if (len != 1) return Malformed(a, update_subcode::kAttributeLengthError, "length");
        const uint8_t o = r.U8();
        if (o > static_cast<uint8_t>(Origin::kIncomplete))
          return Malformed(a, update_subcode::kInvalidOriginAttribute, "undefined value");
        at.origin = static_cast<Origin>(o);
        break;
      }
      case attr_type::kAsPath: {
        auto p = ParseAsPath(a.value, neg_.four_octet_as);
        if (!p) return Malformed(a, update_subcode::kMalformedAsPath, "malformed");
        at.as_path = std::move(*p);
        break;
      }
      case attr_type::kNextHop:
        if (len != kIpv4Length)
          return Malformed(a, update_subcode::kAttributeLengthError, "length");
        at.next_hop = IPAddr::FromBytes(Family::kV4, a.value.data());
        break;
      case attr_type::kMultiExitDisc:
        if (len != kU32Length) return Malformed(a, update_subcode::kAttributeLengthError, "length");
        at.med = r.U32();
        break;
      case attr_type::kLocalPref:
        if (len != kU32Length) return Malformed(a, update_subcode::kAttributeLengthError, "length");
        // RFC 7606 7.5: from an external peer it is discarded.
        if (!neg_.ibgp) break;
        at.local_pref = r.U32();
        break;
      case attr_type::kAtomicAggregate:
        if (len != 0) return Malformed(a, update_subcode::kAttributeLengthError, "length");
        at.atomic_aggregate = true;
        break;
      case attr_type::kAggregator: {
        auto ag = ParseAggregator(a.value, neg_.four_octet_as);
        if (!ag) return Malformed(a, update_subcode::kAttributeLengthError, "length");
        at.aggregator = *ag;
        break;
      }
      case attr_type::kCommunities:
        if (len == 0 || len % kCommunityLength != 0)
          return Malformed(a, update_subcode::kOptionalAttributeError, "length");
        while (!r.empty()) at.communities.push_back(r.U32());
        break;
      case attr_type::kLargeCommunities:
        if (len == 0 || len % kLargeCommunityLength != 0)
          return Malformed(a, update_subcode::kOptionalAttributeError, "length");
        while (!r.empty()) {
          LargeCommunity c;
          c.global_administrator = r.U32();
          c.local_data1 = r.U32();
          c.local_data2 = r.U32();
          at.large_communities.push_back(c);
        }
        break;
      case attr_type::kAs4Path: {
        // RFC 6793 4.1: a 4-octet speaker ignores AS4_PATH from another 4-octet speaker.
        if (neg_.four_octet_as) break;
        auto p = ParseAsPath(a.value, true);
        if (!p) return Malformed(a, update_subcode::kMalformedAsPath, "malformed");
        at.as4_path = std::move(*p);
        break;
      }
      case attr_type::kAs4Aggregator: {
        if (neg_.four_octet_as) break;
        auto ag = ParseAggregator(a.value, true);
        if (!ag) return Malformed(a, update_subcode::kAttributeLengthError, "length");
        at.as4_aggregator = *ag;
        break;
      }
      case attr_type::kMpReachNlri: return DecodeMpReach(a);
      case attr_type::kMpUnreachNlri: return DecodeMpUnreach(a);
    }
    return std::nullopt;
  }

 private:
  std::optional<Error> Malformed(const RawView& a, uint8_t subcode, const std::string& what) {
    Error e = AttrError(MalformedAction(a.type), subcode, a, what);
    if (e.action == ErrorAction::kSessionReset) return e;
    out_.errors.push_back(std::move(e));
    return std::nullopt;
  }

  std::optional<Error> Unknown(const RawView& a) {
    if (!(a.flags & kOptional))
      return AttrError(ErrorAction::kSessionReset, update_subcode::kUnrecognizedWellKnownAttribute,
                       a, "unrecognized well-known");
    out_.attrs.unknown.push_back(
        RawAttribute{a.flags, a.type, Bytes(a.value.begin(), a.value.end())});
    return std::nullopt;
  }

  std::optional<Error> DecodeMpReach(const RawView& a) {
    Reader r(a.value);
    MpReach m;
    m.family.afi = r.U16();
    m.family.safi = r.U8();
    const uint8_t nh_len = r.U8();
    ByteSpan nh = r.Bytes(nh_len);
    r.U8();  // reserved
    if (r.failed()) return Malformed(a, update_subcode::kOptionalAttributeError, "truncated");
    auto fam = UnicastFamily(m.family);
    if (!fam) return std::nullopt;  // a family we never negotiate: ignore (RFC 4760 7)
    auto hops = ParseNextHops(nh, m.family.afi);
    if (!hops) return Malformed(a, update_subcode::kOptionalAttributeError, "next hop length");
    m.next_hops = std::move(*hops);
    auto nlri = DecodePrefixes(r.Rest(), *fam);
    if (!nlri) return Malformed(a, update_subcode::kOptionalAttributeError, "NLRI");
    m.nlri = std::move(*nlri);
    out_.attrs.mp_reach = std::move(m);
    return std::nullopt;
  }

  std::optional<Error> DecodeMpUnreach(const RawView& a) {
    Reader r(a.value);
    MpUnreach m;
    m.family.afi = r.U16();
    m.family.safi = r.U8();
    if (r.failed()) return Malformed(a, update_subcode::kOptionalAttributeError, "truncated");
    auto fam = UnicastFamily(m.family);
    if (!fam) return std::nullopt;
    auto w = DecodePrefixes(r.Rest(), *fam);
    if (!w) return Malformed(a, update_subcode::kOptionalAttributeError, "NLRI");
    m.withdrawn = std::move(*w);
    out_.attrs.mp_unreach = std::move(m);
    return std::nullopt;
  }

  const Negotiated& neg_;
  DecodedAttributes& out_;
  bool seen_[256] = {};
};

}  // namespace

void EncodeAttributes(Writer& w, const PathAttributes& a, const Negotiated& neg) {
  if (a.origin) PutAttribute(w, kWellKnown, attr_type::kOrigin, {static_cast<uint8_t>(*a.origin)});
  bool needs_as4 = false;
  if (a.as_path)
    PutAttribute(w, kWellKnown, attr_type::kAsPath,
                 AsPathBytes(*a.as_path, neg.four_octet_as, &needs_as4));
  if (a.next_hop) {
    auto b = a.next_hop->bytes();
    PutAttribute(w, kWellKnown, attr_type::kNextHop, Bytes(b.begin(), b.begin() + kIpv4Length));
  }
  if (a.med) PutAttribute(w, kOptionalNonTransitive, attr_type::kMultiExitDisc, U32Bytes(*a.med));
  if (a.local_pref) PutAttribute(w, kWellKnown, attr_type::kLocalPref, U32Bytes(*a.local_pref));
  if (a.atomic_aggregate) PutAttribute(w, kWellKnown, attr_type::kAtomicAggregate, {});
  if (a.aggregator)
    PutAttribute(w, kOptionalTransitive, attr_type::kAggregator,
                 AggregatorBytes(*a.aggregator, neg.four_octet_as));
  if (!a.communities.empty()) {
    Bytes v;
    Writer cw(v);
    for (uint32_t c : a.communities) cw.U32(c);
    PutAttribute(w, kOptionalTransitive, attr_type::kCommunities, v);
  }
  // MP attributes always use the extended length so packing can size them in advance.
  if (a.mp_reach)
    PutAttribute(w, kOptionalNonTransitive, attr_type::kMpReachNlri, MpReachBytes(*a.mp_reach),
                 true);
  if (a.mp_unreach)
    PutAttribute(w, kOptionalNonTransitive, attr_type::kMpUnreachNlri,
                 MpUnreachBytes(*a.mp_unreach), true);
  if (!neg.four_octet_as) {
    const AsPath* as4 = a.as4_path ? &*a.as4_path : (needs_as4 ? &*a.as_path : nullptr);
    if (as4)
      PutAttribute(w, kOptionalTransitive, attr_type::kAs4Path, AsPathBytes(*as4, true, nullptr));
    const Aggregator* ag4 = a.as4_aggregator ? &*a.as4_aggregator
                            : (a.aggregator && a.aggregator->asn > kTwoOctetAsMax) ? &*a.aggregator
                                                                                   : nullptr;
    if (ag4)
      PutAttribute(w, kOptionalTransitive, attr_type::kAs4Aggregator, AggregatorBytes(*ag4, true));
  }
  if (!a.large_communities.empty()) {
    Bytes v;
    Writer lw(v);
    for (const LargeCommunity& c : a.large_communities) {
      lw.U32(c.global_administrator);
      lw.U32(c.local_data1);
      lw.U32(c.local_data2);
    }
    PutAttribute(w, kOptionalTransitive, attr_type::kLargeCommunities, v);
  }
  for (const RawAttribute& u : a.unknown) PutAttribute(w, u.flags, u.type, u.value);
}

Result<DecodedAttributes> DecodeAttributes(ByteSpan data, const Negotiated& neg) {
  DecodedAttributes out;
  AttributeDecoder dec(neg, out);
  Reader r(data);
  while (!r.empty()) {
    const size_t start = r.position();
    const uint8_t flags = r.U8();
    const uint8_t type = r.U8();
    const uint16_t len = (flags & kExtendedLength) ? r.U16() : r.U8();
    ByteSpan value = r.Bytes(len);
    if (r.failed()) {
      // RFC 7606 section 4: an attribute overrunning the field makes the rest unparseable.
      out.errors.push_back(Error{error_code::kUpdateMessageError,
                                 update_subcode::kMalformedAttributeList,
                                 {},
                                 ErrorAction::kTreatAsWithdraw,
                                 "attribute overruns the list"});
      break;
    }
    RawView a{flags, type, value, data.subspan(start, r.position() - start)};
    if (auto err = dec.Decode(a)) return *err;
  }
  return out;
}

AsPath MergeAs4Path(const AsPath& as_path, const AsPath& as4_path) {
  auto count = [](const AsPath& p) {
    size_t n = 0;
    for (const auto& s : p) {
      if (s.type == as_segment::kAsSet)
        n += 1;
      else if (s.type == as_segment::kAsSequence)
        n += s.asns.size();
    }
    return n;
  };
  const size_t n2 = count(as_path), n4 = count(as4_path);
  if (n4 > n2) return as_path;  // RFC 6793 4.2.3: AS4_PATH is ignored
  size_t keep = n2 - n4;
  AsPath out;
  for (const auto& s : as_path) {
    if (keep == 0) break;
    if (s.type == as_segment::kAsSequence && s.asns.size() > keep) {
      out.push_back(
          AsPathSegment{s.type, {s.asns.begin(), s.asns.begin() + static_cast<long>(keep)}});
      keep = 0;
    } else {
      out.push_back(s);
      keep -= s.type == as_segment::kAsSet
                  ? 1
                  : (s.type == as_segment::kAsSequence ? s.asns.size() : 0);
    }
  }
  out.insert(out.end(), as4_path.begin(), as4_path.end());
  return out;
}

}  // namespace ironlb::bgp
