// OPEN (RFC 4271 section 4.2) with capabilities (RFC 5492): multiprotocol (4760), route
// refresh (2918), graceful restart (4724), 4-octet AS (6793); and what two OPENs negotiate.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "bgp/codec_error.h"
#include "bgp/wire.h"

namespace ironlb::bgp {

struct AfiSafi {
  uint16_t afi = 0;
  uint8_t safi = 0;
  auto operator<=>(const AfiSafi&) const = default;
};

struct GracefulRestart {
  bool restart_state = false;   // R bit: the sender has restarted
  uint16_t restart_time_s = 0;  // 12 bits
  struct Family {
    AfiSafi afi_safi;
    bool forwarding_preserved = false;
    bool operator==(const Family&) const = default;
  };
  std::vector<Family> families;
  bool operator==(const GracefulRestart&) const = default;
};

struct RawCapability {
  uint8_t code = 0;
  Bytes value;
  bool operator==(const RawCapability&) const = default;
};

struct Capabilities {
  std::vector<AfiSafi> multiprotocol;
  bool route_refresh = false;
  std::optional<GracefulRestart> graceful_restart;
  std::optional<uint32_t> four_octet_as;
  std::vector<RawCapability> unknown;  // kept, ignored (RFC 5492 section 3)
  bool operator==(const Capabilities&) const = default;
};

struct Open {
  uint8_t version = 4;
  uint16_t my_as = 0;  // the 2-octet field: AS_TRANS when the AS does not fit
  uint16_t hold_time_s = 0;
  uint32_t bgp_identifier = 0;
  Capabilities caps;
  bool operator==(const Open&) const = default;

  // The speaker's AS: the 4-octet capability when present (RFC 6793), else my_as.
  uint32_t asn() const { return caps.four_octet_as.value_or(my_as); }
};

// Builds the OPEN ironlb sends: my_as is AS_TRANS when `asn` needs four octets.
Open MakeOpen(uint32_t asn, uint16_t hold_time_s, uint32_t bgp_identifier, Capabilities caps);

Bytes EncodeOpen(const Open& open);
// Validates version, hold time (0 or >= 3), identifier (non-zero) and parameter syntax.
Result<Open> DecodeOpen(ByteSpan body);

// What a session uses once both OPENs are known.
struct Negotiated {
  bool four_octet_as = false;
  bool route_refresh = false;
  bool ipv4_unicast = true;
  bool ipv6_unicast = false;
  uint16_t hold_time_s = 0;  // 0: no hold timer and no keepalives
  uint32_t peer_asn = 0;
  uint32_t peer_identifier = 0;
  bool ibgp = false;
  std::optional<GracefulRestart> peer_graceful_restart;
  bool Has(AfiSafi f) const;
};

// RFC 4271 4.2 + RFC 4760 section 8 (no MP capability on either side = IPv4 unicast only).
Negotiated Negotiate(const Open& local, const Open& remote, uint32_t local_asn);

}  // namespace ironlb::bgp
