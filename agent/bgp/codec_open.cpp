#include "bgp/codec_open.h"

#include <algorithm>
#include <string>

#include "bgp/codec_constants.h"
#include "bgp/codec_header.h"

namespace ironlb::bgp {
namespace {

// RFC 4271 section 4.2: a hold time of 1 or 2 seconds is unacceptable.
constexpr uint16_t kMinNonZeroHoldTime = 3;
constexpr size_t kMultiprotocolCapLength = 4;
constexpr size_t kFourOctetAsCapLength = 4;
constexpr size_t kGracefulRestartHeaderLength = 2;
constexpr size_t kGracefulRestartFamilyLength = 4;
constexpr uint16_t kTwoOctetAsMax = 0xffff;

Error OpenError(uint8_t subcode, std::string reason, Bytes data = {}) {
  return SessionReset(error_code::kOpenMessageError, subcode, std::move(reason), std::move(data));
}

void EncodeCapability(Writer& w, uint8_t code, const Bytes& value) {
  w.U8(code);
  w.U8(static_cast<uint8_t>(value.size()));
  w.Bytes(value);
}

Bytes CapabilityBytes(const Capabilities& c) {
  Bytes out;
  Writer w(out);
  for (const AfiSafi& f : c.multiprotocol) {
    Bytes v;
    Writer vw(v);
    vw.U16(f.afi);
    vw.U8(0);  // reserved
    vw.U8(f.safi);
    EncodeCapability(w, capability_code::kMultiprotocol, v);
  }
  if (c.route_refresh) EncodeCapability(w, capability_code::kRouteRefresh, {});
  if (c.graceful_restart) {
    Bytes v;
    Writer vw(v);
    const GracefulRestart& gr = *c.graceful_restart;
    vw.U16(static_cast<uint16_t>((gr.restart_state ? kGracefulRestartRestartStateBit : 0) |
                                 (gr.restart_time_s & kGracefulRestartTimeMask)));
    for (const auto& f : gr.families) {
      vw.U16(f.afi_safi.afi);
      vw.U8(f.afi_safi.safi);
      vw.U8(f.forwarding_preserved ? kGracefulRestartForwardingStateBit : 0);
    }
    EncodeCapability(w, capability_code::kGracefulRestart, v);
  }
  if (c.four_octet_as) {
    Bytes v;
    Writer(v).U32(*c.four_octet_as);
    EncodeCapability(w, capability_code::kFourOctetAs, v);
  }
  for (const RawCapability& u : c.unknown) EncodeCapability(w, u.code, u.value);
  return out;
}

// Parses the capabilities of one Capabilities optional parameter into `caps`.
std::optional<Error> DecodeCapabilities(ByteSpan data, Capabilities& caps) {
  Reader r(data);
  while (!r.empty()) {
    const uint8_t code = r.U8();
    const uint8_t len = r.U8();
    ByteSpan v = r.Bytes(len);
    if (r.failed()) return OpenError(kUnspecificSubcode, "truncated capability");
    Reader vr(v);
    switch (code) {
      case capability_code::kMultiprotocol: {
        if (len != kMultiprotocolCapLength)
          return OpenError(kUnspecificSubcode, "bad multiprotocol capability length");
        AfiSafi f;
        f.afi = vr.U16();
        vr.U8();
        f.safi = vr.U8();
        if (std::find(caps.multiprotocol.begin(), caps.multiprotocol.end(), f) ==
            caps.multiprotocol.end())
          caps.multiprotocol.push_back(f);
        break;
      }
      case capability_code::kRouteRefresh:
        // RFC 2918 defines it empty; tolerate padding as other implementations do.
        caps.route_refresh = true;
        break;
      case capability_code::kGracefulRestart: {
        if (len < kGracefulRestartHeaderLength ||
            (len - kGracefulRestartHeaderLength) % kGracefulRestartFamilyLength != 0)
          return OpenError(kUnspecificSubcode, "bad graceful restart capability length");
        GracefulRestart gr;
        const uint16_t flags_time = vr.U16();
        gr.restart_state = flags_time & kGracefulRestartRestartStateBit;
        gr.restart_time_s = flags_time & kGracefulRestartTimeMask;
        while (!vr.empty()) {
          GracefulRestart::Family f;
          f.afi_safi.afi = vr.U16();
          f.afi_safi.safi = vr.U8();
          f.forwarding_preserved = vr.U8() & kGracefulRestartForwardingStateBit;
          gr.families.push_back(f);
        }
        caps.graceful_restart = gr;
        break;
      }
      case capability_code::kFourOctetAs:
        if (len != kFourOctetAsCapLength)
          return OpenError(kUnspecificSubcode, "bad 4-octet AS capability length");
        caps.four_octet_as = vr.U32();
        break;
      default: caps.unknown.push_back(RawCapability{code, Bytes(v.begin(), v.end())});
    }
  }
  return std::nullopt;
}

}  // namespace

Open MakeOpen(uint32_t asn, uint16_t hold_time_s, uint32_t bgp_identifier, Capabilities caps) {
  Open o;
  o.my_as = asn > kTwoOctetAsMax ? kAsTrans : static_cast<uint16_t>(asn);
  o.hold_time_s = hold_time_s;
  o.bgp_identifier = bgp_identifier;
  caps.four_octet_as = asn;
  o.caps = std::move(caps);
  return o;
}

Bytes EncodeOpen(const Open& open) {
  Bytes caps = CapabilityBytes(open.caps);
  Bytes body;
  Writer w(body);
  w.U8(open.version);
  w.U16(open.my_as);
  w.U16(open.hold_time_s);
  w.U32(open.bgp_identifier);
  if (caps.empty()) {
    w.U8(0);
  } else {
    // One Capabilities parameter holds them all (RFC 5492 allows either form).
    w.U8(static_cast<uint8_t>(caps.size() + 2));
    w.U8(kOptParamCapabilities);
    w.U8(static_cast<uint8_t>(caps.size()));
    w.Bytes(caps);
  }
  return EncodeMessage(MessageType::kOpen, body);
}

Result<Open> DecodeOpen(ByteSpan body) {
  Reader r(body);
  Open o;
  o.version = r.U8();
  o.my_as = r.U16();
  o.hold_time_s = r.U16();
  o.bgp_identifier = r.U32();
  uint16_t opt_len = r.U8();
  if (r.failed())
    return SessionReset(error_code::kMessageHeaderError, header_subcode::kBadMessageLength,
                        "short OPEN");
  if (o.version != kVersion)
    // RFC 4271 6.2: data is the largest locally supported version, as a 2-octet number.
    return OpenError(open_subcode::kUnsupportedVersionNumber,
                     "unsupported version " + std::to_string(o.version), Bytes{0, kVersion});
  if (o.hold_time_s != 0 && o.hold_time_s < kMinNonZeroHoldTime)
    return OpenError(open_subcode::kUnacceptableHoldTime,
                     "unacceptable hold time " + std::to_string(o.hold_time_s));
  if (o.bgp_identifier == 0) return OpenError(open_subcode::kBadBgpIdentifier, "BGP identifier 0");
  // RFC 9072: a non-extended length of 255 followed by type 255 announces 2-octet lengths.
  bool extended = false;
  if (opt_len == kOptParamExtendedLength && r.remaining() >= 3 && body[r.position()] == 255) {
    r.U8();
    opt_len = r.U16();
    extended = true;
  }
  if (opt_len != r.remaining())
    return OpenError(kUnspecificSubcode, "optional parameters length mismatch");
  while (!r.empty()) {
    const uint8_t type = r.U8();
    const uint16_t len = extended ? r.U16() : r.U8();
    ByteSpan v = r.Bytes(len);
    if (r.failed()) return OpenError(kUnspecificSubcode, "truncated optional parameter");
    if (type != kOptParamCapabilities)
      return OpenError(open_subcode::kUnsupportedOptionalParameter,
                       "unsupported optional parameter " + std::to_string(type));
    if (auto err = DecodeCapabilities(v, o.caps)) return *err;
  }
  return o;
}

bool Negotiated::Has(AfiSafi f) const {
  if (f.safi != kSafiUnicast) return false;
  return f.afi == kAfiIpv4 ? ipv4_unicast : f.afi == kAfiIpv6 ? ipv6_unicast : false;
}

Negotiated Negotiate(const Open& local, const Open& remote, uint32_t local_asn) {
  Negotiated n;
  n.four_octet_as = local.caps.four_octet_as.has_value() && remote.caps.four_octet_as.has_value();
  n.route_refresh = local.caps.route_refresh && remote.caps.route_refresh;
  const bool local_mp = !local.caps.multiprotocol.empty();
  const bool remote_mp = !remote.caps.multiprotocol.empty();
  auto both = [&](AfiSafi f) {
    auto has = [&](const Open& o, bool mp) {
      if (!mp) return f == AfiSafi{kAfiIpv4, kSafiUnicast};
      return std::find(o.caps.multiprotocol.begin(), o.caps.multiprotocol.end(), f) !=
             o.caps.multiprotocol.end();
    };
    return has(local, local_mp) && has(remote, remote_mp);
  };
  n.ipv4_unicast = both({kAfiIpv4, kSafiUnicast});
  n.ipv6_unicast = both({kAfiIpv6, kSafiUnicast});
  n.hold_time_s = std::min(local.hold_time_s, remote.hold_time_s);
  n.peer_asn = remote.asn();
  n.peer_identifier = remote.bgp_identifier;
  n.ibgp = n.peer_asn == local_asn;
  n.peer_graceful_restart = remote.caps.graceful_restart;
  return n;
}

}  // namespace ironlb::bgp
