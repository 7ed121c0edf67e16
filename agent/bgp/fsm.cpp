// RFC 4271 section 8.2.2 condensed: the table below is the whole behaviour; each action is
// a few lines. Idle after an error re-arms ConnectRetry as the idle-hold timer, with
// exponential backoff and jitter, so a flapping peer is not hammered (RFC 4271 8.1.1 option
// DampPeerOscillations in spirit).
#include "bgp/fsm.h"

#include <algorithm>

namespace ironlb::bgp {
namespace {

// RFC 4271 section 8.2.2: "a large value (suggested 4 minutes)" for the hold timer while
// waiting for the peer's OPEN.
constexpr Millis kLargeHoldTime = std::chrono::minutes(4);
constexpr uint16_t kKeepaliveDivisor = 3;  // RFC 4271 10: keepalive = hold / 3
constexpr State kByAction = static_cast<State>(0xff);

}  // namespace

const char* StateName(State s) {
  switch (s) {
    case State::kIdle: return "Idle";
    case State::kConnect: return "Connect";
    case State::kActive: return "Active";
    case State::kOpenSent: return "OpenSent";
    case State::kOpenConfirm: return "OpenConfirm";
    case State::kEstablished: return "Established";
  }
  return "?";
}

const char* EventName(Event e) {
  static const char* const kNames[kEventCount] = {"Start",
                                                  "Stop",
                                                  "ConnectRetryTimerExpires",
                                                  "HoldTimerExpires",
                                                  "KeepaliveTimerExpires",
                                                  "TcpConnectionConfirmed",
                                                  "TcpCrAcked",
                                                  "TcpConnectionFails",
                                                  "BGPOpen",
                                                  "BGPHeaderErr",
                                                  "BGPOpenMsgErr",
                                                  "NotifMsg",
                                                  "KeepAliveMsg",
                                                  "UpdateMsg",
                                                  "UpdateMsgErr",
                                                  "RouteRefreshMsg",
                                                  "BfdDown"};
  return kNames[static_cast<int>(e)];
}

using F = Fsm;
using S = State;
// clang-format off
const Fsm::Transition Fsm::kTable[kStateCount][kEventCount] = {
  /* Idle */ {
    {&F::Start, kByAction},           // Start
    {&F::Ignore, S::kIdle},           // Stop
    {&F::Start, kByAction},           // ConnectRetryTimerExpires: automatic restart
    {&F::Ignore, S::kIdle},           // HoldTimerExpires
    {&F::Ignore, S::kIdle},           // KeepaliveTimerExpires
    {&F::RejectIncoming, S::kIdle},   // TcpConnectionConfirmed
    {&F::Ignore, S::kIdle},           // TcpCrAcked (stale)
    {&F::Ignore, S::kIdle},           // TcpConnectionFails
    {&F::Ignore, S::kIdle},           // BGPOpen
    {&F::Ignore, S::kIdle},           // BGPHeaderErr
    {&F::Ignore, S::kIdle},           // BGPOpenMsgErr
    {&F::Ignore, S::kIdle},           // NotifMsg
    {&F::Ignore, S::kIdle},           // KeepAliveMsg
    {&F::Ignore, S::kIdle},           // UpdateMsg
    {&F::Ignore, S::kIdle},           // UpdateMsgErr
    {&F::Ignore, S::kIdle},           // RouteRefreshMsg
    {&F::Ignore, S::kIdle},           // BfdDown
  },
  /* Connect */ {
    {&F::Ignore, S::kConnect},
    {&F::Stop, S::kIdle},
    {&F::Retry, kByAction},
    {&F::Ignore, S::kConnect},
    {&F::Ignore, S::kConnect},
    {&F::AdoptIncoming, S::kOpenSent},
    {&F::Connected, S::kOpenSent},
    {&F::ConnectFailedWait, S::kActive},
    {&F::Ignore, S::kConnect},
    {&F::Ignore, S::kConnect},
    {&F::Ignore, S::kConnect},
    {&F::Ignore, S::kConnect},
    {&F::Ignore, S::kConnect},
    {&F::Ignore, S::kConnect},
    {&F::Ignore, S::kConnect},
    {&F::Ignore, S::kConnect},
    {&F::Ignore, S::kConnect},
  },
  /* Active */ {
    {&F::Ignore, S::kActive},
    {&F::Stop, S::kIdle},
    {&F::Retry, kByAction},
    {&F::Ignore, S::kActive},
    {&F::Ignore, S::kActive},
    {&F::AdoptIncoming, S::kOpenSent},
    {&F::Connected, S::kOpenSent},
    {&F::Ignore, S::kActive},
    {&F::Ignore, S::kActive},
    {&F::Ignore, S::kActive},
    {&F::Ignore, S::kActive},
    {&F::Ignore, S::kActive},
    {&F::Ignore, S::kActive},
    {&F::Ignore, S::kActive},
    {&F::Ignore, S::kActive},
    {&F::Ignore, S::kActive},
    {&F::Ignore, S::kActive},
  },
  /* OpenSent */ {
    {&F::Ignore, S::kOpenSent},
    {&F::Stop, S::kIdle},
    {&F::Ignore, S::kOpenSent},
    {&F::HoldExpired, S::kIdle},
    {&F::Ignore, S::kOpenSent},
    {&F::RejectIncoming, S::kOpenSent},
    {&F::Ignore, S::kOpenSent},
    {&F::ConnectFailedWait, S::kActive},
    {&F::ReceiveOpen, S::kOpenConfirm},
    {&F::DecodeFailed, S::kIdle},
    {&F::DecodeFailed, S::kIdle},
    {&F::ReceiveNotification, S::kIdle},
    {&F::FsmError, S::kIdle},
    {&F::FsmError, S::kIdle},
    {&F::DecodeFailed, S::kIdle},
    {&F::FsmError, S::kIdle},
    {&F::Ignore, S::kOpenSent},
  },
  /* OpenConfirm */ {
    {&F::Ignore, S::kOpenConfirm},
    {&F::Stop, S::kIdle},
    {&F::Ignore, S::kOpenConfirm},
    {&F::HoldExpired, S::kIdle},
    {&F::SendKeepalive, S::kOpenConfirm},
    {&F::CollideIncoming, kByAction},
    {&F::Ignore, S::kOpenConfirm},
    {&F::ConnectionLost, S::kIdle},
    {&F::FsmError, S::kIdle},
    {&F::DecodeFailed, S::kIdle},
    {&F::DecodeFailed, S::kIdle},
    {&F::ReceiveNotification, S::kIdle},
    {&F::ReceiveKeepaliveConfirm, S::kEstablished},
    {&F::FsmError, S::kIdle},
    {&F::DecodeFailed, S::kIdle},
    {&F::FsmError, S::kIdle},
    {&F::BfdDown, S::kIdle},
  },
  /* Established */ {
    {&F::Ignore, S::kEstablished},
    {&F::Stop, S::kIdle},
    {&F::Ignore, S::kEstablished},
    {&F::HoldExpired, S::kIdle},
    {&F::SendKeepalive, S::kEstablished},
    {&F::RejectIncoming, S::kEstablished},
    {&F::Ignore, S::kEstablished},
    {&F::ConnectionLost, S::kIdle},
    {&F::FsmError, S::kIdle},
    {&F::DecodeFailed, S::kIdle},
    {&F::DecodeFailed, S::kIdle},
    {&F::ReceiveNotification, S::kIdle},
    {&F::ReceiveKeepalive, S::kEstablished},
    {&F::ReceiveUpdate, S::kEstablished},
    {&F::DecodeFailed, S::kIdle},
    {&F::ReceiveRouteRefresh, S::kEstablished},
    {&F::BfdDown, S::kIdle},
  },
};
// clang-format on

Fsm::Fsm(FsmConfig cfg, FsmIo& io) : cfg_(std::move(cfg)), io_(io) {}

void Fsm::Handle(Event e, const EventData& d) {
  const Transition& t = kTable[static_cast<int>(state_)][static_cast<int>(e)];
  const bool ok = (this->*t.action)(d);
  if (!ok)
    state_ = State::kIdle;
  else if (t.next != kByAction)
    state_ = t.next;
}

void Fsm::Receive(ByteSpan message) {
  auto m = DecodeMessage(message, neg_);
  if (!m) {
    const Error& err = m.error();
    Event e = Event::kUpdateMsgErr;
    if (err.code == error_code::kMessageHeaderError) e = Event::kBgpHeaderErr;
    if (err.code == error_code::kOpenMessageError) e = Event::kBgpOpenMsgErr;
    EventData d;
    d.error = &err;
    Handle(e, d);
    return;
  }
  EventData d;
  Event e = Event::kKeepAliveMsg;
  if (auto* o = std::get_if<Open>(&*m)) {
    d.open = o;
    e = Event::kBgpOpen;
  } else if (auto* u = std::get_if<DecodedUpdate>(&*m)) {
    d.update = u;
    e = Event::kUpdateMsg;
  } else if (auto* n = std::get_if<Notification>(&*m)) {
    d.notification = n;
    e = Event::kNotifMsg;
  } else if (auto* rr = std::get_if<RouteRefresh>(&*m)) {
    d.route_refresh = rr;
    e = Event::kRouteRefreshMsg;
  }
  Handle(e, d);
}

// ---- helpers ----------------------------------------------------------------------

Millis Fsm::NextRetryDelay() {
  Millis d = cfg_.connect_retry;
  for (int i = 1; i < failures_ && d < cfg_.connect_retry_max; ++i) d *= 2;
  d = std::min(d, cfg_.connect_retry_max);
  return Millis(static_cast<int64_t>(static_cast<double>(d.count()) * io_.Jitter()));
}

void Fsm::SendOpen() {
  Capabilities caps;
  if (cfg_.ipv4_unicast) caps.multiprotocol.push_back({kAfiIpv4, kSafiUnicast});
  if (cfg_.ipv6_unicast) caps.multiprotocol.push_back({kAfiIpv6, kSafiUnicast});
  caps.route_refresh = true;
  caps.graceful_restart = cfg_.graceful_restart;
  local_open_ = MakeOpen(cfg_.local_asn, cfg_.hold_time_s, cfg_.router_id, caps);
  io_.Send(EncodeOpen(local_open_));
}

void Fsm::SendNotification(const Notification& n) {
  last_error_ = "sent " + n.str();
  io_.Send(EncodeNotification(n));
}

void Fsm::Fail(const std::string& reason) {
  io_.CancelTimer(Timer::kHold);
  io_.CancelTimer(Timer::kKeepalive);
  io_.CloseConnection();
  last_error_ = reason;
  if (up_since_) {
    up_since_.reset();
    io_.OnDown(reason);
  }
  ++failures_;
  if (running_)
    io_.ArmTimer(Timer::kConnectRetry, NextRetryDelay());
  else
    io_.CancelTimer(Timer::kConnectRetry);
}

void Fsm::RestartHold() {
  if (neg_.hold_time_s == 0)
    io_.CancelTimer(Timer::kHold);
  else
    io_.ArmTimer(Timer::kHold, std::chrono::seconds(neg_.hold_time_s));
}

// ---- actions ----------------------------------------------------------------------

bool Fsm::Ignore(const EventData&) {
  return true;
}

bool Fsm::Start(const EventData&) {
  running_ = true;
  if (cfg_.passive) {
    state_ = State::kActive;
    return true;
  }
  io_.Connect();
  io_.ArmTimer(Timer::kConnectRetry, NextRetryDelay());
  state_ = State::kConnect;
  return true;
}

bool Fsm::Stop(const EventData& d) {
  const bool keep_routes = d.for_restart && state_ == State::kEstablished &&
                           cfg_.graceful_restart && neg_.peer_graceful_restart;
  if (!keep_routes && (state_ == State::kOpenSent || state_ == State::kOpenConfirm ||
                       state_ == State::kEstablished))
    SendNotification(AdministrativeShutdown("ironlb shutting down"));
  running_ = false;
  Fail(keep_routes ? "stopped for restart: the peer keeps our routes (graceful restart)"
                   : "administratively stopped");
  return true;
}

bool Fsm::Retry(const EventData&) {
  if (cfg_.passive) return true;  // passive sessions only wait
  io_.CloseConnection();
  io_.Connect();
  io_.ArmTimer(Timer::kConnectRetry, NextRetryDelay());
  state_ = State::kConnect;
  return true;
}

bool Fsm::Connected(const EventData&) {
  io_.CancelTimer(Timer::kConnectRetry);
  SendOpen();
  io_.ArmTimer(Timer::kHold, kLargeHoldTime);
  return true;
}

bool Fsm::AdoptIncoming(const EventData& d) {
  io_.AdoptIncoming();
  return Connected(d);
}

bool Fsm::RejectIncoming(const EventData&) {
  io_.RejectIncoming();
  return true;
}

bool Fsm::CollideIncoming(const EventData& d) {
  // RFC 4271 section 6.8: the connection opened by the speaker with the higher BGP
  // Identifier survives. The offered one was opened by the peer.
  if (cfg_.router_id > neg_.peer_identifier) {
    io_.RejectIncoming();
    return true;
  }
  SendNotification({error_code::kCease, cease_subcode::kConnectionCollisionResolution, {}});
  io_.CancelTimer(Timer::kKeepalive);
  io_.AdoptIncoming();
  Connected(d);
  state_ = State::kOpenSent;
  return true;
}

bool Fsm::ConnectFailedWait(const EventData& d) {
  io_.CancelTimer(Timer::kHold);
  io_.CloseConnection();
  last_error_ = d.reason.empty() ? "connection failed" : d.reason;
  ++failures_;
  if (!cfg_.passive) io_.ArmTimer(Timer::kConnectRetry, NextRetryDelay());
  return true;
}

bool Fsm::ConnectionLost(const EventData& d) {
  Fail(d.reason.empty() ? "connection lost" : d.reason);
  return false;
}

bool Fsm::ReceiveOpen(const EventData& d) {
  const Open& o = *d.open;
  const uint32_t asn = o.asn();
  const bool ibgp = asn == cfg_.local_asn;
  bool as_ok = true;
  if (cfg_.peer_asn != 0)
    as_ok = asn == cfg_.peer_asn;
  else if (cfg_.dynamic_asn == "internal")
    as_ok = ibgp;
  else if (cfg_.dynamic_asn == "external")
    as_ok = !ibgp;
  if (!as_ok) {
    Error e =
        SessionReset(error_code::kOpenMessageError, open_subcode::kBadPeerAs,
                     "peer AS " + std::to_string(asn) + " is not the configured one",
                     Bytes{static_cast<uint8_t>(o.my_as >> 8), static_cast<uint8_t>(o.my_as)});
    SendNotification(NotificationFromError(e));
    Fail(e.str());
    return false;
  }
  if (ibgp && o.bgp_identifier == cfg_.router_id) {
    // RFC 6286 section 2.2: only an internal peer must have a different identifier.
    Error e = SessionReset(error_code::kOpenMessageError, open_subcode::kBadBgpIdentifier,
                           "peer uses our BGP identifier");
    SendNotification(NotificationFromError(e));
    Fail(e.str());
    return false;
  }
  neg_ = Negotiate(local_open_, o, cfg_.local_asn);
  keepalive_s_ = 0;
  if (neg_.hold_time_s != 0) {
    const uint16_t wanted = cfg_.keepalive_s.value_or(cfg_.hold_time_s / kKeepaliveDivisor);
    keepalive_s_ =
        std::max<uint16_t>(1, std::min<uint16_t>(wanted, neg_.hold_time_s / kKeepaliveDivisor));
  }
  io_.CancelTimer(Timer::kConnectRetry);
  io_.Send(EncodeKeepalive());
  if (keepalive_s_ != 0) io_.ArmTimer(Timer::kKeepalive, std::chrono::seconds(keepalive_s_));
  RestartHold();
  return true;
}

bool Fsm::ReceiveKeepaliveConfirm(const EventData&) {
  RestartHold();
  failures_ = 0;
  last_error_.clear();
  up_since_ = io_.Now();
  state_ = State::kEstablished;
  io_.OnEstablished(neg_);
  return true;
}

bool Fsm::ReceiveKeepalive(const EventData&) {
  RestartHold();
  return true;
}

bool Fsm::ReceiveUpdate(const EventData&) {
  // ironlb installs no learned routes: parsing them (with RFC 7606 handling) is enough.
  RestartHold();
  return true;
}

bool Fsm::ReceiveRouteRefresh(const EventData& d) {
  RestartHold();
  io_.OnRouteRefresh(*d.route_refresh);
  return true;
}

bool Fsm::ReceiveNotification(const EventData& d) {
  Fail("peer sent NOTIFICATION " + d.notification->str());
  return false;
}

bool Fsm::DecodeFailed(const EventData& d) {
  SendNotification(NotificationFromError(*d.error));
  Fail(d.error->str());
  return false;
}

bool Fsm::HoldExpired(const EventData&) {
  SendNotification({error_code::kHoldTimerExpired, kUnspecificSubcode, {}});
  Fail("hold timer expired");
  return false;
}

bool Fsm::SendKeepalive(const EventData&) {
  io_.Send(EncodeKeepalive());
  if (keepalive_s_ != 0) io_.ArmTimer(Timer::kKeepalive, std::chrono::seconds(keepalive_s_));
  return true;
}

bool Fsm::FsmError(const EventData&) {
  // RFC 6608 subcodes name the state the unexpected message arrived in.
  uint8_t sub = kUnspecificSubcode;
  if (state_ == State::kOpenSent) sub = fsm_subcode::kUnexpectedMessageInOpenSent;
  if (state_ == State::kOpenConfirm) sub = fsm_subcode::kUnexpectedMessageInOpenConfirm;
  if (state_ == State::kEstablished) sub = fsm_subcode::kUnexpectedMessageInEstablished;
  SendNotification({error_code::kFiniteStateMachineError, sub, {}});
  Fail(std::string("unexpected message in ") + StateName(state_));
  return false;
}

bool Fsm::BfdDown(const EventData& d) {
  // RFC 5882 section 10.2: the session goes down at once; the peer is likely unreachable,
  // so a NOTIFICATION is sent only as a courtesy, with RFC 9384's reason where it arrives.
  SendNotification({error_code::kCease, cease_subcode::kBfdDown, {}});
  Fail(d.reason.empty() ? "BFD session down" : d.reason);
  return false;
}

}  // namespace ironlb::bgp
