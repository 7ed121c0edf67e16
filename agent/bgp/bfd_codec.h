// The BFD Control packet of RFC 5880 section 4.1 (no authentication section): encode, and
// decode with the reception checks of section 6.8.6 that need no session state.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "bgp/wire.h"

namespace ironlb::bgp::bfd {

using Micros = std::chrono::microseconds;

inline constexpr uint8_t kVersion = 1;              // RFC 5880 section 4.1 "Vers"
inline constexpr size_t kControlPacketLength = 24;  // mandatory section only
inline constexpr size_t kMinLengthWithAuth = 26;    // mandatory + smallest auth section
// RFC 5881 section 4: single-hop control packets go to this port, from a source port in the
// dynamic range, with TTL / hop limit 255.
inline constexpr uint16_t kControlPort = 3784;
inline constexpr uint16_t kSourcePortMin = 49152;
inline constexpr uint16_t kSourcePortMax = 65535;
inline constexpr int kSendTtl = 255;

// RFC 5880 section 4.1 "Sta".
enum class SessionState : uint8_t { kAdminDown = 0, kDown = 1, kInit = 2, kUp = 3 };
const char* StateName(SessionState s);

// RFC 5880 section 4.1 "Diagnostic (Diag)".
enum class Diag : uint8_t {
  kNoDiagnostic = 0,
  kControlDetectionTimeExpired = 1,
  kEchoFunctionFailed = 2,
  kNeighborSignaledSessionDown = 3,
  kForwardingPlaneReset = 4,
  kPathDown = 5,
  kConcatenatedPathDown = 6,
  kAdministrativelyDown = 7,
  kReverseConcatenatedPathDown = 8,
};
// The RFC's wording ("Control Detection Time Expired"); unknown codes give "Reserved".
const char* DiagName(Diag d);

struct ControlPacket {
  uint8_t version = kVersion;
  Diag diag = Diag::kNoDiagnostic;
  SessionState state = SessionState::kDown;
  bool poll = false;                       // P
  bool final = false;                      // F
  bool control_plane_independent = false;  // C
  bool auth_present = false;               // A
  bool demand = false;                     // D
  bool multipoint = false;                 // M, reserved: always 0
  uint8_t detect_mult = 0;
  uint8_t length = kControlPacketLength;
  uint32_t my_discriminator = 0;
  uint32_t your_discriminator = 0;
  Micros desired_min_tx{0};
  Micros required_min_rx{0};
  Micros required_min_echo_rx{0};
  bool operator==(const ControlPacket&) const = default;
};

// Why a received packet was discarded (RFC 5880 section 6.8.6, in its order).
enum class DropReason : uint8_t {
  kNone,
  kTruncated,              // shorter than the mandatory section
  kBadVersion,             // version is not 1
  kBadLength,              // Length below the minimum, or above the UDP payload
  kZeroDetectMult,         // Detect Mult is zero
  kMultipoint,             // Multipoint bit set
  kZeroMyDiscriminator,    // My Discriminator is zero
  kZeroYourDiscriminator,  // Your Discriminator zero while State is not Down/AdminDown
  kAuthNotSupported,       // A bit set: ironlb runs BFD without authentication
  // Session-level reasons, set by the transport and the session.
  kUnknownDiscriminator,  // Your Discriminator matches no session
  kUnknownPeer,           // no session for the source address
  kLowTtl,                // received TTL / hop limit below the profile's minimum
  kAdminDown,             // local session is AdminDown
  kCount,
};
const char* DropReasonName(DropReason r);

struct Decoded {
  std::optional<ControlPacket> packet;
  DropReason drop = DropReason::kNone;
};

// Always the 24-byte mandatory section, with Length 24 (ironlb sends no authentication).
std::vector<uint8_t> Encode(const ControlPacket& p);
Decoded Decode(ByteSpan payload);

}  // namespace ironlb::bgp::bfd
