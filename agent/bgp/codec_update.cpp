#include "bgp/codec_update.h"

#include <algorithm>

#include "bgp/codec_constants.h"
#include "bgp/codec_header.h"
#include "bgp/codec_nlri.h"

namespace ironlb::bgp {
namespace {

constexpr size_t kLengthFieldsSize = 4;  // Withdrawn Routes Length + Total Path Attribute Length
constexpr size_t kMaxBody = kMaxMessageLength - kHeaderLength;

Error MalformedList(const char* why) {
  return SessionReset(error_code::kUpdateMessageError, update_subcode::kMalformedAttributeList,
                      why);
}

Bytes AttributeBytes(const PathAttributes& a, const Negotiated& neg) {
  Bytes v;
  Writer w(v);
  EncodeAttributes(w, a, neg);
  return v;
}

AfiSafi FamilyOf(const IPPrefix& p) {
  return {p.addr.is_v4() ? kAfiIpv4 : kAfiIpv6, kSafiUnicast};
}

// Splits `prefixes` into runs whose encoded size stays within `budget` bytes each.
std::vector<std::vector<IPPrefix>> Chunk(const std::vector<IPPrefix>& prefixes, size_t budget) {
  std::vector<std::vector<IPPrefix>> out;
  size_t used = budget;
  for (const IPPrefix& p : prefixes) {
    const size_t sz = PrefixWireSize(p);
    if (used + sz > budget) {
      out.emplace_back();
      used = 0;
    }
    out.back().push_back(p);
    used += sz;
  }
  return out;
}

}  // namespace

bool Update::IsEndOfRib(AfiSafi family) const {
  if (family == AfiSafi{kAfiIpv4, kSafiUnicast})
    return withdrawn.empty() && nlri.empty() && attrs == PathAttributes{};
  PathAttributes only;
  only.mp_unreach = MpUnreach{family, {}};
  return withdrawn.empty() && nlri.empty() && attrs == only;
}

bool DecodedUpdate::treat_as_withdraw() const {
  return std::any_of(errors.begin(), errors.end(),
                     [](const Error& e) { return e.action == ErrorAction::kTreatAsWithdraw; });
}

Bytes EncodeUpdate(const Update& u, const Negotiated& neg) {
  Bytes body;
  Writer w(body);
  const size_t wl = w.Reserve16();
  for (const IPPrefix& p : u.withdrawn) EncodePrefix(w, p);
  w.Patch16(wl, static_cast<uint16_t>(w.size() - wl - 2));
  const size_t al = w.Reserve16();
  EncodeAttributes(w, u.attrs, neg);
  w.Patch16(al, static_cast<uint16_t>(w.size() - al - 2));
  for (const IPPrefix& p : u.nlri) EncodePrefix(w, p);
  return EncodeMessage(MessageType::kUpdate, body);
}

Result<DecodedUpdate> DecodeUpdate(ByteSpan body, const Negotiated& neg) {
  Reader r(body);
  const uint16_t wlen = r.U16();
  ByteSpan wdata = r.Bytes(wlen);
  const uint16_t alen = r.U16();
  ByteSpan adata = r.Bytes(alen);
  // RFC 4271 6.3 / RFC 7606 section 4: lengths inconsistent with the message cannot be
  // recovered from.
  if (r.failed()) return MalformedList("withdrawn/attribute lengths exceed the message");
  DecodedUpdate out;
  auto withdrawn = DecodePrefixes(wdata, Family::kV4);
  if (!withdrawn) return withdrawn.error();
  out.update.withdrawn = std::move(*withdrawn);
  auto nlri = DecodePrefixes(r.Rest(), Family::kV4);
  if (!nlri) return nlri.error();
  out.update.nlri = std::move(*nlri);
  auto attrs = DecodeAttributes(adata, neg);
  if (!attrs) return attrs.error();
  out.update.attrs = std::move(attrs->attrs);
  out.errors = std::move(attrs->errors);

  const PathAttributes& a = out.update.attrs;
  const bool reach = !out.update.nlri.empty() || (a.mp_reach && !a.mp_reach->nlri.empty());
  if (out.treat_as_withdraw() && !reach && !a.mp_unreach && out.update.withdrawn.empty() &&
      alen > 0) {
    // RFC 7606 section 5.2: nothing to withdraw means the error cannot be contained.
    return MalformedList("malformed attributes and no NLRI to withdraw");
  }
  if (reach && !out.treat_as_withdraw()) {
    // RFC 7606 section 3(d): a missing well-known attribute means treat-as-withdraw.
    auto missing = [&](uint8_t type, const char* name) {
      out.errors.push_back(Error{
          error_code::kUpdateMessageError, update_subcode::kMissingWellKnownAttribute, Bytes{type},
          ErrorAction::kTreatAsWithdraw, std::string("missing well-known attribute ") + name});
    };
    if (!a.origin) missing(attr_type::kOrigin, "ORIGIN");
    if (!a.as_path) missing(attr_type::kAsPath, "AS_PATH");
    if (!out.update.nlri.empty() && !a.next_hop) missing(attr_type::kNextHop, "NEXT_HOP");
    if (neg.ibgp && !a.local_pref) missing(attr_type::kLocalPref, "LOCAL_PREF");
  }
  return out;
}

Bytes EncodeEndOfRib(AfiSafi family, const Negotiated& neg) {
  Update u;
  if (family != AfiSafi{kAfiIpv4, kSafiUnicast}) u.attrs.mp_unreach = MpUnreach{family, {}};
  return EncodeUpdate(u, neg);
}

std::vector<Bytes> PackAnnouncements(const PathAttributes& attrs,
                                     const std::vector<IPAddr>& next_hops,
                                     const std::vector<IPPrefix>& prefixes, const Negotiated& neg) {
  std::vector<Bytes> out;
  if (prefixes.empty()) return out;
  PathAttributes base = attrs;
  const bool v4 =
      FamilyOf(prefixes.front()).afi == kAfiIpv4 && !next_hops.empty() && next_hops.front().is_v4();
  if (v4) {
    base.next_hop = next_hops.front();
  } else {
    base.mp_reach = MpReach{FamilyOf(prefixes.front()), next_hops, {}};
  }
  const size_t fixed = kLengthFieldsSize + AttributeBytes(base, neg).size();
  for (auto& chunk : Chunk(prefixes, kMaxBody - fixed)) {
    Update u;
    u.attrs = base;
    if (v4)
      u.nlri = std::move(chunk);
    else
      u.attrs.mp_reach->nlri = std::move(chunk);
    out.push_back(EncodeUpdate(u, neg));
  }
  return out;
}

std::vector<Bytes> PackWithdrawals(const std::vector<IPPrefix>& prefixes, const Negotiated& neg) {
  std::vector<Bytes> out;
  if (prefixes.empty()) return out;
  const AfiSafi fam = FamilyOf(prefixes.front());
  const bool v4 = fam.afi == kAfiIpv4;
  PathAttributes base;
  if (!v4) base.mp_unreach = MpUnreach{fam, {}};
  const size_t fixed = kLengthFieldsSize + AttributeBytes(base, neg).size();
  for (auto& chunk : Chunk(prefixes, kMaxBody - fixed)) {
    Update u;
    u.attrs = base;
    if (v4)
      u.withdrawn = std::move(chunk);
    else
      u.attrs.mp_unreach->withdrawn = std::move(chunk);
    out.push_back(EncodeUpdate(u, neg));
  }
  return out;
}

}  // namespace ironlb::bgp
