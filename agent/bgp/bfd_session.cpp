// RFC 5880 section 6.8 as written, with two choices the RFC leaves open, both as FRR and BIRD
// do: a packet goes out at once on every local state change (so the three-way handshake does
// not wait a slow-rate interval per step), and LocalDiag is cleared when the session comes Up.
#include "bgp/bfd_session.h"

#include <algorithm>

namespace ironlb::bgp::bfd {
namespace {

// Section 6.8.7: the periodic interval is reduced by 0-25%, or to 75-90% when DetectMult is 1.
constexpr double kJitterMin = 0.75;
constexpr double kJitterMaxRange = 0.25;
constexpr double kJitterMaxRangeMultOne = 0.15;

}  // namespace

Session::Session(SessionParams params, uint32_t local_discriminator, SessionIo& io)
    : params_(params), io_(io), local_discr_(local_discriminator) {
  UpdateLocalTimers(false);
}

Micros Session::transmit_interval() const {
  return std::max(tx_in_use_, remote_min_rx_);
}

Micros Session::detection_time() const {
  if (remote_detect_mult_ == 0) return Micros(0);
  return remote_detect_mult_ * std::max(rx_in_use_, remote_desired_min_tx_);
}

void Session::Start() {
  if (state_ != SessionState::kAdminDown) return;
  Transition(SessionState::kDown, diag_);
  ScheduleTransmit();
}

void Session::Stop() {
  if (state_ == SessionState::kAdminDown) return;
  // Section 6.8.16: AdminDown packets keep going out at the current rate, so one lost packet
  // does not look like a failure to the peer; the owner decides when to fall silent.
  Transition(SessionState::kAdminDown, Diag::kAdministrativelyDown);
  io_.CancelTimer(Timer::kDetect);
  last_rx_.reset();
}

void Session::Reconfigure(SessionParams params) {
  if (params == params_) return;
  params_ = params;
  UpdateLocalTimers(true);
  TightenTransmit();
  RearmDetect();
}

void Session::UpdateLocalTimers(bool poll_if_changed) {
  const Micros tx = state_ == SessionState::kUp
                        ? params_.desired_min_tx
                        : std::max(params_.desired_min_tx, kSlowDesiredMinTx);
  const Micros rx = params_.required_min_rx;
  if (tx == adv_tx_ && rx == adv_rx_) return;
  const Micros old_tx = adv_tx_, old_rx = adv_rx_;
  adv_tx_ = tx;
  adv_rx_ = rx;
  if (state_ != SessionState::kUp) {
    tx_in_use_ = adv_tx_;
    rx_in_use_ = adv_rx_;
  } else {
    // Section 6.8.3: while Up, a faster TX and a slower RX are safe at once; the others must
    // wait until the peer has acknowledged them with Final.
    if (adv_tx_ < old_tx) tx_in_use_ = adv_tx_;
    if (adv_rx_ > old_rx) rx_in_use_ = adv_rx_;
  }
  if (poll_if_changed && remote_discr_ != 0 &&
      (state_ == SessionState::kUp || state_ == SessionState::kInit))
    StartPoll();
}

void Session::StartPoll() {
  if (poll_active_) {
    poll_again_ = true;
    return;
  }
  poll_active_ = true;
  poll_again_ = false;
  SendControl(false);
}

bool Session::MayTransmit() const {
  // Section 6.8.7: a passive system waits for the peer's discriminator.
  if (params_.passive && remote_discr_ == 0) return false;
  return true;
}

void Session::SendControl(bool final) {
  if (!MayTransmit()) return;
  ControlPacket p;
  p.diag = diag_;
  p.state = state_;
  // A packet never carries both P and F (section 6.5); the poll continues in the next one.
  p.poll = poll_active_ && !final;
  p.final = final;
  p.detect_mult = params_.detect_mult;
  p.my_discriminator = local_discr_;
  p.your_discriminator = remote_discr_;
  p.desired_min_tx = adv_tx_;
  p.required_min_rx = adv_rx_;
  p.required_min_echo_rx = Micros(0);  // no echo function
  ++sent_;
  io_.Send(Encode(p));
}

Micros Session::JitteredInterval() {
  const double range = params_.detect_mult == 1 ? kJitterMaxRangeMultOne : kJitterMaxRange;
  const double factor = kJitterMin + range * (1.0 - io_.Random());
  const Micros base = transmit_interval();
  return Micros(static_cast<int64_t>(static_cast<double>(base.count()) * factor));
}

void Session::ScheduleTransmit() {
  const Micros after = JitteredInterval();
  next_tx_ = io_.Now() + after;
  io_.ArmTimer(Timer::kTransmit, after);
}

void Session::TightenTransmit() {
  // A shorter interval applies to the next packet rather than after the current slow one.
  if (!next_tx_) return;
  const auto now = io_.Now();
  if (now + transmit_interval() < *next_tx_) ScheduleTransmit();
}

void Session::RearmDetect() {
  const Micros dt = detection_time();
  if (!last_rx_ || dt.count() == 0) return;
  const auto left = std::chrono::duration_cast<Micros>(*last_rx_ + dt - io_.Now());
  io_.ArmTimer(Timer::kDetect, std::max(left, Micros(0)));
}

void Session::OnTimer(Timer t) {
  if (state_ == SessionState::kAdminDown) {
    if (t == Timer::kTransmit && next_tx_) {
      SendControl(false);
      ScheduleTransmit();
    }
    return;
  }
  if (t == Timer::kTransmit) {
    // Section 6.8.7: no periodic packets while the peer asks for none (RemoteMinRxInterval
    // zero) or runs Demand mode with both sides Up.
    const bool demand_active =
        remote_demand_ && state_ == SessionState::kUp && remote_state_ == SessionState::kUp;
    if (remote_min_rx_.count() != 0 && !demand_active) SendControl(false);
    ScheduleTransmit();
    return;
  }
  // Detection Time passed without a valid packet (section 6.8.4).
  remote_discr_ = 0;
  remote_state_ = SessionState::kDown;
  remote_detect_mult_ = 0;
  last_rx_.reset();
  poll_active_ = poll_again_ = false;
  if (state_ == SessionState::kInit || state_ == SessionState::kUp)
    Transition(SessionState::kDown, Diag::kControlDetectionTimeExpired);
}

DropReason Session::Receive(ByteSpan payload) {
  Decoded d = Decode(payload);
  if (!d.packet) return d.drop;
  return Receive(*d.packet);
}

DropReason Session::Receive(const ControlPacket& p) {
  if (p.your_discriminator != 0 && p.your_discriminator != local_discr_)
    return DropReason::kUnknownDiscriminator;
  if (state_ == SessionState::kAdminDown) return DropReason::kAdminDown;
  ++received_;
  const uint64_t sent_before = sent_;
  const bool first_contact = remote_discr_ == 0;
  remote_discr_ = p.my_discriminator;
  remote_state_ = p.state;
  remote_demand_ = p.demand;
  remote_min_rx_ = p.required_min_rx;
  remote_desired_min_tx_ = p.desired_min_tx;
  remote_detect_mult_ = p.detect_mult;
  if (p.final && poll_active_) {
    poll_active_ = false;
    tx_in_use_ = adv_tx_;
    rx_in_use_ = adv_rx_;
    if (poll_again_) StartPoll();
  }
  // The three-way handshake and the ways down (section 6.8.6).
  if (p.state == SessionState::kAdminDown) {
    if (state_ != SessionState::kDown)
      Transition(SessionState::kDown, Diag::kNeighborSignaledSessionDown, true);
  } else if (state_ == SessionState::kDown) {
    if (p.state == SessionState::kDown)
      Transition(SessionState::kInit, Diag::kNoDiagnostic);
    else if (p.state == SessionState::kInit)
      Transition(SessionState::kUp, Diag::kNoDiagnostic);
  } else if (state_ == SessionState::kInit) {
    if (p.state == SessionState::kInit || p.state == SessionState::kUp)
      Transition(SessionState::kUp, Diag::kNoDiagnostic);
  } else if (p.state == SessionState::kDown) {  // we are Up
    Transition(SessionState::kDown, Diag::kNeighborSignaledSessionDown);
  }
  if (p.poll) SendControl(true);
  // A passive session has been silent until now (its periodic timer sent nothing): answer.
  if (first_contact && params_.passive && sent_ == sent_before) SendControl(false);
  last_rx_ = io_.Now();
  RearmDetect();
  TightenTransmit();
  return DropReason::kNone;
}

void Session::Transition(SessionState to, Diag diag, bool remote_admin_down) {
  const SessionState from = state_;
  if (from == to) return;
  state_ = to;
  diag_ = to == SessionState::kUp ? Diag::kNoDiagnostic : diag;
  if (to == SessionState::kUp) {
    up_since_ = io_.Now();
  } else if (from == SessionState::kUp || from == SessionState::kInit) {
    up_since_.reset();
    last_down_reason_ = std::string(StateName(from)) + " -> " + StateName(to) + ": " +
                        DiagName(diag_) + (remote_admin_down ? " (peer is AdminDown)" : "");
  }
  if (to != SessionState::kUp) poll_active_ = poll_again_ = false;
  // Up switches to the configured rate through a Poll; leaving Up falls back to one second
  // (but AdminDown keeps the rate it had, see Stop).
  if (to != SessionState::kAdminDown) UpdateLocalTimers(to == SessionState::kUp);
  // Tell the peer at once, unless a poll just did.
  if (!(to == SessionState::kUp && poll_active_)) SendControl(false);
  TightenTransmit();
  RearmDetect();
  StateChange c{from, to, diag_, remote_admin_down};
  io_.OnStateChange(c);
}

}  // namespace ironlb::bgp::bfd
