// The BGP session state machine of RFC 4271 section 8, as an explicit state x event table
// (one row per RFC event, each cell {action, next state}, as FRR writes it). Sockets, timers,
// clock and randomness are injected through FsmIo, so tests step it without sockets or sleeps.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "bgp/codec.h"

namespace ironlb::bgp {

enum class State : uint8_t { kIdle, kConnect, kActive, kOpenSent, kOpenConfirm, kEstablished };
inline constexpr int kStateCount = 6;
const char* StateName(State s);

// RFC 4271 section 8.1 events (numbers in comments), folded where ironlb does not tell them
// apart, plus ROUTE-REFRESH (RFC 2918) and BFD down (RFC 5882).
enum class Event : uint8_t {
  kStart,                     // 1 ManualStart, 3 AutomaticStart, 4/5 passive variants
  kStop,                      // 2 ManualStop
  kConnectRetryTimerExpires,  // 9 (also the idle-hold timer before an automatic restart)
  kHoldTimerExpires,          // 10
  kKeepaliveTimerExpires,     // 11
  kTcpConnectionConfirmed,    // 17 an incoming connection was accepted
  kTcpCrAcked,                // 16 our outgoing connection completed
  kTcpConnectionFails,        // 18
  kBgpOpen,                   // 19
  kBgpHeaderErr,              // 21
  kBgpOpenMsgErr,             // 22
  kNotifMsg,                  // 24/25
  kKeepAliveMsg,              // 26
  kUpdateMsg,                 // 27
  kUpdateMsgErr,              // 28
  kRouteRefreshMsg,           // RFC 2918
  kBfdDown,                   // RFC 5882 section 10.2
};
inline constexpr int kEventCount = 17;
const char* EventName(Event e);

enum class Timer : uint8_t { kConnectRetry, kHold, kKeepalive };

using Millis = std::chrono::milliseconds;

struct FsmConfig {
  uint32_t local_asn = 0;
  uint32_t peer_asn = 0;    // 0: dynamic (see dynamic_asn)
  std::string dynamic_asn;  // "internal" / "external" / "" (MetalLB's dynamicASN)
  uint32_t router_id = 0;   // BGP Identifier, host order
  uint16_t hold_time_s = 90;
  std::optional<uint16_t> keepalive_s;  // default hold/3
  Millis connect_retry{std::chrono::seconds(5)};
  Millis connect_retry_max{std::chrono::seconds(120)};
  bool passive = false;  // wait for the peer to connect
  bool ipv4_unicast = true;
  bool ipv6_unicast = false;
  std::optional<GracefulRestart> graceful_restart;
  // Defaulted: every field counts, so a field added later cannot be forgotten by a peer edit.
  bool operator==(const FsmConfig&) const = default;
};

// What the state machine asks of the world. The Asio session implements it; tests fake it.
class FsmIo {
 public:
  virtual ~FsmIo() = default;
  virtual void Connect() = 0;          // start an outgoing connection (completes as an event)
  virtual void CloseConnection() = 0;  // the current one, after queued sends are flushed
  // During kTcpConnectionConfirmed: make the offered incoming connection the current one
  // (closing the old, if any), or refuse it. Exactly one is called for each offer.
  virtual void AdoptIncoming() = 0;
  virtual void RejectIncoming() = 0;
  virtual void Send(Bytes message) = 0;
  virtual void ArmTimer(Timer t, Millis after) = 0;  // re-arming replaces
  virtual void CancelTimer(Timer t) = 0;
  virtual std::chrono::steady_clock::time_point Now() = 0;
  virtual double Jitter() = 0;  // uniform in [0.75, 1.0] (RFC 4271 section 10)
  // Session notifications.
  virtual void OnEstablished(const Negotiated& neg) = 0;
  virtual void OnDown(const std::string& reason) = 0;
  virtual void OnRouteRefresh(const RouteRefresh& rr) = 0;
};

// What an event carries (at most one is set).
struct EventData {
  const Open* open = nullptr;
  const Error* error = nullptr;
  const Notification* notification = nullptr;
  const DecodedUpdate* update = nullptr;
  const RouteRefresh* route_refresh = nullptr;
  std::string reason;  // for kTcpConnectionFails / kBfdDown
  // kStop for a restart (an upgrade): where both sides negotiated graceful restart, close the
  // connection without a NOTIFICATION so the peer keeps our routes as stale (RFC 4724 section 4.2)
  // until the restarted speaker refreshes them and sends End-of-RIB.
  bool for_restart = false;
};

class Fsm {
 public:
  Fsm(FsmConfig cfg, FsmIo& io);

  // Feeds one event and runs the table's action and transition.
  void Handle(Event e, const EventData& d = {});
  // Decodes one framed message from the current connection and feeds the matching event.
  void Receive(ByteSpan message);

  State state() const { return state_; }
  const Negotiated& negotiated() const { return neg_; }
  const std::string& last_error() const { return last_error_; }
  std::optional<std::chrono::steady_clock::time_point> established_since() const {
    return up_since_;
  }
  const FsmConfig& config() const { return cfg_; }
  uint16_t keepalive_interval_s() const { return keepalive_s_; }
  // Replaces the configuration used on the next connection (the current one is not reset).
  void Reconfigure(FsmConfig cfg) { cfg_ = std::move(cfg); }

  struct Transition {
    bool (Fsm::*action)(const EventData&);
    State next;
  };

 private:
  static const Transition kTable[kStateCount][kEventCount];

  // Actions. Returning false means "failed, go to Idle" (the action already cleaned up).
  bool Ignore(const EventData&);
  bool Start(const EventData&);
  bool Stop(const EventData&);
  bool Retry(const EventData&);
  bool Connected(const EventData&);
  bool AdoptIncoming(const EventData&);
  bool CollideIncoming(const EventData&);
  bool RejectIncoming(const EventData&);
  bool ConnectFailedWait(const EventData&);
  bool ConnectionLost(const EventData&);
  bool ReceiveOpen(const EventData&);
  bool ReceiveKeepaliveConfirm(const EventData&);
  bool ReceiveKeepalive(const EventData&);
  bool ReceiveUpdate(const EventData&);
  bool ReceiveRouteRefresh(const EventData&);
  bool ReceiveNotification(const EventData&);
  bool DecodeFailed(const EventData&);
  bool HoldExpired(const EventData&);
  bool SendKeepalive(const EventData&);
  bool FsmError(const EventData&);
  bool BfdDown(const EventData&);

  void SendOpen();
  void SendNotification(const Notification& n);
  // Leaves the session: timers off, connection closed, automatic restart after backoff.
  void Fail(const std::string& reason);
  void RestartHold();
  void EnterEstablished();
  Millis NextRetryDelay();

  FsmConfig cfg_;
  FsmIo& io_;
  State state_ = State::kIdle;
  bool running_ = false;  // started and not stopped: restart automatically after errors
  Open local_open_;
  Negotiated neg_;
  uint16_t keepalive_s_ = 0;
  int failures_ = 0;
  std::string last_error_;
  std::optional<std::chrono::steady_clock::time_point> up_since_;
};

}  // namespace ironlb::bgp
