// The BFD session state machine of RFC 5880 section 6.8 (asynchronous mode, no echo, no
// authentication). Clock, timers, randomness and packet sending are injected, so tests step it.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "bgp/bfd_codec.h"

namespace ironlb::bgp::bfd {

// RFC 5880 section 6.8.3: while not Up, bfd.DesiredMinTxInterval is at least one second.
inline constexpr Micros kSlowDesiredMinTx{std::chrono::seconds(1)};
// RFC 5880 section 6.8.1: bfd.RemoteMinRxInterval starts at 1 (microsecond).
inline constexpr Micros kInitialRemoteMinRx{1};

struct SessionParams {
  Micros desired_min_tx{std::chrono::milliseconds(300)};   // bfd.DesiredMinTxInterval when Up
  Micros required_min_rx{std::chrono::milliseconds(300)};  // bfd.RequiredMinRxInterval
  uint8_t detect_mult = 3;                                 // bfd.DetectMult
  bool passive = false;  // RFC 5880 section 6.1 Passive role: speak only once spoken to
  bool operator==(const SessionParams&) const = default;
};

enum class Timer : uint8_t { kTransmit, kDetect };

struct StateChange {
  SessionState from = SessionState::kDown;
  SessionState to = SessionState::kDown;
  Diag diag = Diag::kNoDiagnostic;
  // The peer said AdminDown: per RFC 5882 section 3.2 clients must not treat it as a failure.
  bool remote_admin_down = false;
};

class SessionIo {
 public:
  virtual ~SessionIo() = default;
  virtual void Send(std::vector<uint8_t> packet) = 0;
  virtual void ArmTimer(Timer t, Micros after) = 0;  // re-arming replaces
  virtual void CancelTimer(Timer t) = 0;
  virtual std::chrono::steady_clock::time_point Now() = 0;
  virtual double Random() = 0;  // uniform in [0, 1)
  virtual void OnStateChange(const StateChange& c) = 0;
};

class Session {
 public:
  Session(SessionParams params, uint32_t local_discriminator, SessionIo& io);

  void Start();  // AdminDown -> Down; transmits at the slow rate unless passive
  void Stop();   // -> AdminDown, which it keeps sending at the current rate
  // New parameters take effect through a Poll Sequence (section 6.8.3) when the peer hears us.
  void Reconfigure(SessionParams params);
  // Section 6.8.6 for a packet already demultiplexed to this session.
  DropReason Receive(const ControlPacket& p);
  DropReason Receive(ByteSpan payload);
  void OnTimer(Timer t);

  SessionState state() const { return state_; }
  SessionState remote_state() const { return remote_state_; }
  Diag diag() const { return diag_; }
  uint32_t local_discriminator() const { return local_discr_; }
  uint32_t remote_discriminator() const { return remote_discr_; }
  const SessionParams& params() const { return params_; }
  bool poll_active() const { return poll_active_; }
  // Negotiated values (before jitter): max(bfd.DesiredMinTxInterval, bfd.RemoteMinRxInterval).
  Micros transmit_interval() const;
  // remote Detect Mult x max(bfd.RequiredMinRxInterval, remote Desired Min TX); 0 until heard.
  Micros detection_time() const;
  Micros remote_min_rx() const { return remote_min_rx_; }
  Micros remote_desired_min_tx() const { return remote_desired_min_tx_; }
  uint8_t remote_detect_mult() const { return remote_detect_mult_; }
  const std::string& last_down_reason() const { return last_down_reason_; }
  uint64_t packets_sent() const { return sent_; }
  uint64_t packets_received() const { return received_; }
  std::optional<std::chrono::steady_clock::time_point> up_since() const { return up_since_; }

 private:
  void Transition(SessionState to, Diag diag, bool remote_admin_down = false);
  // Recomputes the advertised timers after a state or parameter change (section 6.8.3).
  void UpdateLocalTimers(bool poll_if_changed);
  void StartPoll();
  bool MayTransmit() const;
  void SendControl(bool final);
  void ScheduleTransmit();
  void TightenTransmit();
  void RearmDetect();
  Micros JitteredInterval();

  SessionParams params_;
  SessionIo& io_;
  SessionState state_ = SessionState::kAdminDown;
  SessionState remote_state_ = SessionState::kDown;
  Diag diag_ = Diag::kNoDiagnostic;
  uint32_t local_discr_;
  uint32_t remote_discr_ = 0;
  bool remote_demand_ = false;
  Micros remote_min_rx_ = kInitialRemoteMinRx;
  Micros remote_desired_min_tx_{0};
  uint8_t remote_detect_mult_ = 0;
  // What we put in packets (bfd.DesiredMinTxInterval / bfd.RequiredMinRxInterval) and what we
  // time with: while Up, a slower TX or a faster RX waits for the Poll Sequence to finish.
  Micros adv_tx_{0}, adv_rx_{0};
  Micros tx_in_use_{0}, rx_in_use_{0};
  bool poll_active_ = false;
  bool poll_again_ = false;  // parameters changed during a poll: poll again when it ends
  std::optional<std::chrono::steady_clock::time_point> last_rx_;
  std::optional<std::chrono::steady_clock::time_point> next_tx_;
  std::optional<std::chrono::steady_clock::time_point> up_since_;
  std::string last_down_reason_;
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
};

}  // namespace ironlb::bgp::bfd
