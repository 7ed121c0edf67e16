#include "bgp/codec_notification.h"

#include <algorithm>

#include "bgp/codec_constants.h"
#include "bgp/codec_header.h"

namespace ironlb::bgp {
namespace {

constexpr size_t kMaxShutdownCommunication = 255;  // RFC 9003

const char* CodeName(uint8_t code) {
  switch (code) {
    case error_code::kMessageHeaderError: return "Message Header Error";
    case error_code::kOpenMessageError: return "OPEN Message Error";
    case error_code::kUpdateMessageError: return "UPDATE Message Error";
    case error_code::kHoldTimerExpired: return "Hold Timer Expired";
    case error_code::kFiniteStateMachineError: return "Finite State Machine Error";
    case error_code::kCease: return "Cease";
    case error_code::kRouteRefreshMessageError: return "ROUTE-REFRESH Message Error";
  }
  return "Unknown";
}

const char* CeaseName(uint8_t sub) {
  switch (sub) {
    case cease_subcode::kMaximumNumberOfPrefixesReached:
      return "Maximum Number of Prefixes Reached";
    case cease_subcode::kAdministrativeShutdown: return "Administrative Shutdown";
    case cease_subcode::kPeerDeconfigured: return "Peer De-configured";
    case cease_subcode::kAdministrativeReset: return "Administrative Reset";
    case cease_subcode::kConnectionRejected: return "Connection Rejected";
    case cease_subcode::kOtherConfigurationChange: return "Other Configuration Change";
    case cease_subcode::kConnectionCollisionResolution: return "Connection Collision Resolution";
    case cease_subcode::kOutOfResources: return "Out of Resources";
    case cease_subcode::kHardReset: return "Hard Reset";
    case cease_subcode::kBfdDown: return "BFD Down";
  }
  return nullptr;
}

}  // namespace

std::string Notification::str() const {
  std::string s = CodeName(code);
  const char* sub = code == error_code::kCease ? CeaseName(subcode) : nullptr;
  s += "/";
  s += sub ? std::string(sub) : std::to_string(subcode);
  return s;
}

Bytes EncodeNotification(const Notification& n) {
  Bytes body;
  body.reserve(2 + n.data.size());
  Writer w(body);
  w.U8(n.code);
  w.U8(n.subcode);
  w.Bytes(n.data);
  if (body.size() > kMaxMessageLength - kHeaderLength)
    body.resize(kMaxMessageLength - kHeaderLength);
  return EncodeMessage(MessageType::kNotification, body);
}

Notification NotificationFromError(const Error& e) {
  return {e.code, e.subcode, e.data};
}

Notification AdministrativeShutdown(const std::string& message) {
  Notification n{error_code::kCease, cease_subcode::kAdministrativeShutdown, {}};
  if (!message.empty()) {
    const size_t len = std::min(message.size(), kMaxShutdownCommunication);
    n.data.resize(1 + len);
    n.data[0] = static_cast<uint8_t>(len);
    std::copy_n(message.begin(), len, n.data.begin() + 1);
  }
  return n;
}

Result<Notification> DecodeNotification(ByteSpan body) {
  Reader r(body);
  Notification n;
  n.code = r.U8();
  n.subcode = r.U8();
  if (r.failed())
    return SessionReset(error_code::kMessageHeaderError, header_subcode::kBadMessageLength,
                        "short NOTIFICATION");
  ByteSpan rest = r.Rest();
  n.data.assign(rest.begin(), rest.end());
  return n;
}

}  // namespace ironlb::bgp
