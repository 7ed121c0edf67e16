// BGP-4 wire constants with their RFC names: message types, NOTIFICATION codes and subcodes,
// path attribute type codes and flags, capability codes, AFI/SAFI. Shared by codec, FSM and
// session.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ironlb::bgp {

// RFC 4271 section 4.1.
inline constexpr size_t kMarkerLength = 16;
inline constexpr size_t kHeaderLength = 19;
inline constexpr size_t kMaxMessageLength = 4096;
inline constexpr uint8_t kVersion = 4;
inline constexpr uint16_t kBgpPort = 179;
// RFC 6793: the 2-octet placeholder for an AS number that does not fit.
inline constexpr uint16_t kAsTrans = 23456;

enum class MessageType : uint8_t {
  kOpen = 1,
  kUpdate = 2,
  kNotification = 3,
  kKeepalive = 4,
  kRouteRefresh = 5,  // RFC 2918
};

// NOTIFICATION error codes, RFC 4271 section 4.5 (+ RFC 7313 for route refresh).
namespace error_code {
inline constexpr uint8_t kMessageHeaderError = 1;
inline constexpr uint8_t kOpenMessageError = 2;
inline constexpr uint8_t kUpdateMessageError = 3;
inline constexpr uint8_t kHoldTimerExpired = 4;
inline constexpr uint8_t kFiniteStateMachineError = 5;
inline constexpr uint8_t kCease = 6;
inline constexpr uint8_t kRouteRefreshMessageError = 7;
}  // namespace error_code

inline constexpr uint8_t kUnspecificSubcode = 0;  // RFC 4493 / 4271 section 6

namespace header_subcode {
inline constexpr uint8_t kConnectionNotSynchronized = 1;
inline constexpr uint8_t kBadMessageLength = 2;
inline constexpr uint8_t kBadMessageType = 3;
}  // namespace header_subcode

namespace open_subcode {
inline constexpr uint8_t kUnsupportedVersionNumber = 1;
inline constexpr uint8_t kBadPeerAs = 2;
inline constexpr uint8_t kBadBgpIdentifier = 3;
inline constexpr uint8_t kUnsupportedOptionalParameter = 4;
inline constexpr uint8_t kUnacceptableHoldTime = 6;
inline constexpr uint8_t kUnsupportedCapability = 7;  // RFC 5492
}  // namespace open_subcode

namespace update_subcode {
inline constexpr uint8_t kMalformedAttributeList = 1;
inline constexpr uint8_t kUnrecognizedWellKnownAttribute = 2;
inline constexpr uint8_t kMissingWellKnownAttribute = 3;
inline constexpr uint8_t kAttributeFlagsError = 4;
inline constexpr uint8_t kAttributeLengthError = 5;
inline constexpr uint8_t kInvalidOriginAttribute = 6;
inline constexpr uint8_t kInvalidNextHopAttribute = 8;
inline constexpr uint8_t kOptionalAttributeError = 9;
inline constexpr uint8_t kInvalidNetworkField = 10;
inline constexpr uint8_t kMalformedAsPath = 11;
}  // namespace update_subcode

namespace fsm_subcode {  // RFC 6608
inline constexpr uint8_t kUnexpectedMessageInOpenSent = 1;
inline constexpr uint8_t kUnexpectedMessageInOpenConfirm = 2;
inline constexpr uint8_t kUnexpectedMessageInEstablished = 3;
}  // namespace fsm_subcode

namespace cease_subcode {  // RFC 4486
inline constexpr uint8_t kMaximumNumberOfPrefixesReached = 1;
inline constexpr uint8_t kAdministrativeShutdown = 2;
inline constexpr uint8_t kPeerDeconfigured = 3;
inline constexpr uint8_t kAdministrativeReset = 4;
inline constexpr uint8_t kConnectionRejected = 5;
inline constexpr uint8_t kOtherConfigurationChange = 6;
inline constexpr uint8_t kConnectionCollisionResolution = 7;
inline constexpr uint8_t kOutOfResources = 8;
inline constexpr uint8_t kHardReset = 9;  // RFC 8538
inline constexpr uint8_t kBfdDown = 10;   // RFC 9384
}  // namespace cease_subcode

namespace route_refresh_subcode {  // RFC 7313
inline constexpr uint8_t kInvalidMessageLength = 1;
}

// OPEN optional parameter types.
inline constexpr uint8_t kOptParamCapabilities = 2;      // RFC 5492
inline constexpr uint8_t kOptParamExtendedLength = 255;  // RFC 9072

// Capability codes (IANA "Capability Codes").
namespace capability_code {
inline constexpr uint8_t kMultiprotocol = 1;     // RFC 4760
inline constexpr uint8_t kRouteRefresh = 2;      // RFC 2918
inline constexpr uint8_t kGracefulRestart = 64;  // RFC 4724
inline constexpr uint8_t kFourOctetAs = 65;      // RFC 6793
}  // namespace capability_code

// Path attribute flags, RFC 4271 section 4.3.
namespace attr_flag {
inline constexpr uint8_t kOptional = 0x80;
inline constexpr uint8_t kTransitive = 0x40;
inline constexpr uint8_t kPartial = 0x20;
inline constexpr uint8_t kExtendedLength = 0x10;
}  // namespace attr_flag

namespace attr_type {
inline constexpr uint8_t kOrigin = 1;
inline constexpr uint8_t kAsPath = 2;
inline constexpr uint8_t kNextHop = 3;
inline constexpr uint8_t kMultiExitDisc = 4;
inline constexpr uint8_t kLocalPref = 5;
inline constexpr uint8_t kAtomicAggregate = 6;
inline constexpr uint8_t kAggregator = 7;
inline constexpr uint8_t kCommunities = 8;     // RFC 1997
inline constexpr uint8_t kOriginatorId = 9;    // RFC 4456
inline constexpr uint8_t kClusterList = 10;    // RFC 4456
inline constexpr uint8_t kMpReachNlri = 14;    // RFC 4760
inline constexpr uint8_t kMpUnreachNlri = 15;  // RFC 4760
inline constexpr uint8_t kExtendedCommunities = 16;
inline constexpr uint8_t kAs4Path = 17;           // RFC 6793
inline constexpr uint8_t kAs4Aggregator = 18;     // RFC 6793
inline constexpr uint8_t kLargeCommunities = 32;  // RFC 8092
}  // namespace attr_type

// AS_PATH segment types (RFC 4271; confederations RFC 5065).
namespace as_segment {
inline constexpr uint8_t kAsSet = 1;
inline constexpr uint8_t kAsSequence = 2;
inline constexpr uint8_t kAsConfedSequence = 3;
inline constexpr uint8_t kAsConfedSet = 4;
}  // namespace as_segment

inline constexpr uint16_t kAfiIpv4 = 1;
inline constexpr uint16_t kAfiIpv6 = 2;
inline constexpr uint8_t kSafiUnicast = 1;

// RFC 4724: Restart State bit in the GR capability, Forwarding State bit per AFI/SAFI.
inline constexpr uint16_t kGracefulRestartRestartStateBit = 0x8000;
inline constexpr uint16_t kGracefulRestartTimeMask = 0x0fff;
inline constexpr uint8_t kGracefulRestartForwardingStateBit = 0x80;

}  // namespace ironlb::bgp
