// Steps two BFD sessions against each other on a fake clock: no sockets, no sleeps.
#include "bgp/bfd_session.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>

namespace ironlb::bgp::bfd {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct End : SessionIo {
  Clock::time_point* now = nullptr;
  std::vector<ControlPacket> sent;           // everything sent, decoded
  std::vector<std::vector<uint8_t>> outbox;  // not yet delivered
  std::map<Timer, Clock::time_point> timers;
  std::vector<Micros> tx_arms;  // every transmit interval chosen
  std::vector<StateChange> changes;
  std::vector<Clock::time_point> change_times;
  double random = 0.0;  // 0 -> no jitter reduction at all (factor 1.0)
  std::unique_ptr<Session> s;

  void Send(std::vector<uint8_t> p) override {
    Decoded d = Decode(p);
    EXPECT_TRUE(d.packet) << DropReasonName(d.drop);
    if (d.packet) sent.push_back(*d.packet);
    outbox.push_back(std::move(p));
  }
  void ArmTimer(Timer t, Micros after) override {
    timers[t] = *now + after;
    if (t == Timer::kTransmit) tx_arms.push_back(after);
  }
  void CancelTimer(Timer t) override { timers.erase(t); }
  Clock::time_point Now() override { return *now; }
  double Random() override { return random; }
  void OnStateChange(const StateChange& c) override {
    changes.push_back(c);
    change_times.push_back(*now);
  }
  SessionState state() const { return s->state(); }
};

SessionParams Params(int tx_ms, int rx_ms, uint8_t mult, bool passive = false) {
  SessionParams p;
  p.desired_min_tx = milliseconds(tx_ms);
  p.required_min_rx = milliseconds(rx_ms);
  p.detect_mult = mult;
  p.passive = passive;
  return p;
}

// Two ends joined by a wire that can be cut; packets arrive at once.
class Pair : public ::testing::Test {
 protected:
  Clock::time_point now{};
  End a, b;
  bool wire_up = true;
  Clock::time_point last_delivery{};
  std::vector<DropReason> drops;  // what the receiving sessions refused

  void Make(SessionParams pa, SessionParams pb) {
    a.now = b.now = &now;
    a.s = std::make_unique<Session>(pa, 0x1111, a);
    b.s = std::make_unique<Session>(pb, 0x2222, b);
  }
  void Deliver() {
    for (int round = 0; round < 100 && (!a.outbox.empty() || !b.outbox.empty()); ++round) {
      auto from_a = std::move(a.outbox);
      auto from_b = std::move(b.outbox);
      a.outbox.clear();
      b.outbox.clear();
      if (!wire_up) continue;
      for (auto& p : from_a)
        if (auto r = b.s->Receive(p); r != DropReason::kNone) drops.push_back(r);
      for (auto& p : from_b)
        if (auto r = a.s->Receive(p); r != DropReason::kNone) drops.push_back(r);
      if (!from_a.empty() || !from_b.empty()) last_delivery = now;
    }
  }
  // Fires timers in time order until `d` has passed.
  void RunFor(Micros d) {
    const auto end = now + d;
    Deliver();
    for (;;) {
      End* who = nullptr;
      Timer which{};
      Clock::time_point when = end;
      for (End* e : {&a, &b})
        for (auto& [t, at] : e->timers)
          if (at <= when) who = e, which = t, when = at;
      if (!who) break;
      now = when;
      who->timers.erase(which);
      who->s->OnTimer(which);
      Deliver();
    }
    now = end;
  }
  void Start() {
    a.s->Start();
    b.s->Start();
  }
};

TEST_F(Pair, ThreeWayHandshakeFromBothSides) {
  Make(Params(100, 100, 3), Params(100, 100, 3));
  Start();
  RunFor(seconds(1));
  EXPECT_EQ(a.state(), SessionState::kUp);
  EXPECT_EQ(b.state(), SessionState::kUp);
  EXPECT_EQ(a.s->remote_discriminator(), 0x2222u);
  EXPECT_EQ(b.s->remote_discriminator(), 0x1111u);
  EXPECT_TRUE(drops.empty());
  // Both sent Down at once: each went Down -> Init -> Up.
  for (End* e : {&a, &b}) {
    ASSERT_EQ(e->changes.size(), 3u);
    EXPECT_EQ(e->changes[0].to, SessionState::kDown);
    EXPECT_EQ(e->changes[1].to, SessionState::kInit);
    EXPECT_EQ(e->changes[2].to, SessionState::kUp);
  }
  EXPECT_EQ(a.s->diag(), Diag::kNoDiagnostic);
}

TEST_F(Pair, HandshakeWhenThePeerIsAlreadyInit) {
  Make(Params(100, 100, 3), Params(100, 100, 3));
  b.s->Start();
  RunFor(seconds(2));  // b talks into the void (a is AdminDown and drops)
  a.s->Start();        // a hears b's Down -> Init; b hears a's Init -> Up; a hears Up -> Up
  RunFor(milliseconds(1));
  EXPECT_EQ(a.state(), SessionState::kUp);
  EXPECT_EQ(b.state(), SessionState::kUp);
  ASSERT_FALSE(b.changes.empty());
  EXPECT_EQ(b.changes.back().from, SessionState::kInit);
}

TEST_F(Pair, HandshakeWhenBothStartedTogetherThroughInit) {
  Make(Params(100, 100, 3), Params(100, 100, 3));
  wire_up = false;  // both send Down into the void first
  Start();
  wire_up = true;
  RunFor(seconds(3));
  EXPECT_EQ(a.state(), SessionState::kUp);
  EXPECT_EQ(b.state(), SessionState::kUp);
  bool a_was_init = false;
  for (auto& c : a.changes) a_was_init |= c.to == SessionState::kInit;
  EXPECT_TRUE(a_was_init);  // Down -> Init -> Up on both sides
}

TEST_F(Pair, SlowRateWhileNotUp) {
  Make(Params(100, 100, 3), Params(100, 100, 3));
  wire_up = false;
  a.random = 0.5;
  a.s->Start();
  RunFor(seconds(10));
  EXPECT_EQ(a.state(), SessionState::kDown);
  ASSERT_GE(a.sent.size(), 9u);
  EXPECT_LE(a.sent.size(), 14u);  // one second, less at most 25% jitter
  for (const ControlPacket& p : a.sent) {
    EXPECT_EQ(p.state, SessionState::kDown);
    EXPECT_EQ(p.desired_min_tx, seconds(1));
    EXPECT_EQ(p.required_min_rx, milliseconds(100));
    EXPECT_EQ(p.your_discriminator, 0u);
  }
  for (Micros m : a.tx_arms) {
    EXPECT_GE(m, milliseconds(750));
    EXPECT_LE(m, seconds(1));
  }
}

TEST_F(Pair, UpSwitchesToConfiguredRateWithPollFinal) {
  Make(Params(100, 100, 3), Params(100, 100, 3));
  Start();
  RunFor(milliseconds(1));
  ASSERT_EQ(a.state(), SessionState::kUp);
  // The first packets after Up poll with the configured rate; the peer answers Final.
  bool a_polled = false, b_finaled = false;
  for (auto& p : a.sent) a_polled |= p.poll && p.desired_min_tx == milliseconds(100);
  for (auto& p : b.sent) b_finaled |= p.final && !p.poll;
  EXPECT_TRUE(a_polled);
  EXPECT_TRUE(b_finaled);
  EXPECT_FALSE(a.s->poll_active());
  EXPECT_FALSE(b.s->poll_active());
  for (auto& p : a.sent) EXPECT_FALSE(p.poll && p.final);
  EXPECT_EQ(a.s->transmit_interval(), milliseconds(100));
  EXPECT_EQ(a.s->detection_time(), milliseconds(300));
  // Steady state: about ten packets a second each way.
  const size_t before = a.sent.size();
  RunFor(seconds(1));
  EXPECT_GE(a.sent.size() - before, 9u);
  EXPECT_LE(a.sent.size() - before, 14u);
}

TEST_F(Pair, TimerNegotiation) {
  Make(Params(100, 100, 3), Params(300, 500, 5));
  Start();
  RunFor(seconds(2));
  ASSERT_EQ(a.state(), SessionState::kUp);
  // TX: max(own desired min TX, peer's required min RX).
  EXPECT_EQ(a.s->transmit_interval(), milliseconds(500));
  EXPECT_EQ(b.s->transmit_interval(), milliseconds(300));
  // Detection: peer's Detect Mult x max(own required min RX, peer's desired min TX).
  EXPECT_EQ(a.s->detection_time(), 5 * milliseconds(300));
  EXPECT_EQ(b.s->detection_time(), 3 * milliseconds(500));
}

TEST_F(Pair, DetectionTimeExpiredTakesSessionDown) {
  Make(Params(100, 100, 3), Params(100, 100, 3));
  Start();
  RunFor(seconds(1));
  ASSERT_EQ(a.state(), SessionState::kUp);
  wire_up = false;
  const auto cut = now;
  RunFor(milliseconds(150));
  EXPECT_EQ(a.state(), SessionState::kUp);  // not yet three intervals
  RunFor(milliseconds(500));
  EXPECT_EQ(a.state(), SessionState::kDown);
  EXPECT_EQ(b.state(), SessionState::kDown);
  EXPECT_EQ(a.s->diag(), Diag::kControlDetectionTimeExpired);
  ASSERT_FALSE(a.changes.empty());
  const StateChange& c = a.changes.back();
  EXPECT_EQ(c.from, SessionState::kUp);
  EXPECT_EQ(c.to, SessionState::kDown);
  EXPECT_EQ(c.diag, Diag::kControlDetectionTimeExpired);
  EXPECT_FALSE(c.remote_admin_down);
  // Down no later than the detection time after the last packet got through.
  EXPECT_LE(a.change_times.back() - cut, milliseconds(300));
  EXPECT_NE(a.s->last_down_reason().find("Control Detection Time Expired"), std::string::npos);
  EXPECT_EQ(a.s->remote_discriminator(), 0u);  // section 6.8.1: forgotten after detection
  // The Down packet tells the diag, at the slow rate again.
  EXPECT_EQ(a.sent.back().state, SessionState::kDown);
  EXPECT_EQ(a.sent.back().diag, Diag::kControlDetectionTimeExpired);
  EXPECT_EQ(a.sent.back().desired_min_tx, seconds(1));
  // And it comes back when the wire does.
  wire_up = true;
  RunFor(seconds(3));
  EXPECT_EQ(a.state(), SessionState::kUp);
  EXPECT_EQ(b.state(), SessionState::kUp);
}

TEST_F(Pair, PeerSignalsDown) {
  Make(Params(100, 100, 3), Params(100, 100, 3));
  Start();
  RunFor(seconds(1));
  ASSERT_EQ(a.state(), SessionState::kUp);
  ControlPacket down;
  down.state = SessionState::kDown;
  down.diag = Diag::kPathDown;
  down.detect_mult = 3;
  down.my_discriminator = 0x2222;
  down.your_discriminator = 0x1111;
  down.desired_min_tx = seconds(1);
  down.required_min_rx = milliseconds(100);
  EXPECT_EQ(a.s->Receive(Encode(down)), DropReason::kNone);
  EXPECT_EQ(a.state(), SessionState::kDown);
  EXPECT_EQ(a.s->diag(), Diag::kNeighborSignaledSessionDown);
  EXPECT_FALSE(a.changes.back().remote_admin_down);
}

TEST_F(Pair, PeerAdminDownIsNotAFailure) {
  Make(Params(100, 100, 3), Params(100, 100, 3));
  Start();
  RunFor(seconds(1));
  b.s->Stop();
  RunFor(milliseconds(1));
  EXPECT_EQ(b.state(), SessionState::kAdminDown);
  EXPECT_EQ(b.sent.back().state, SessionState::kAdminDown);
  EXPECT_EQ(b.sent.back().diag, Diag::kAdministrativelyDown);
  EXPECT_EQ(a.state(), SessionState::kDown);
  EXPECT_EQ(a.s->diag(), Diag::kNeighborSignaledSessionDown);
  EXPECT_TRUE(a.changes.back().remote_admin_down);
  // An AdminDown session keeps saying so at the rate it had (one lost packet must not look
  // like a failure), and ignores the peer, which stays Down.
  const size_t sent = b.sent.size();
  RunFor(seconds(1));
  EXPECT_GE(b.sent.size() - sent, 9u);
  for (size_t i = sent; i < b.sent.size(); ++i)
    EXPECT_EQ(b.sent[i].state, SessionState::kAdminDown);
  EXPECT_EQ(a.state(), SessionState::kDown);
  EXPECT_EQ(b.s->Receive(Encode(a.sent.back())), DropReason::kAdminDown);
}

TEST_F(Pair, PassiveWaitsForThePeer) {
  Make(Params(100, 100, 3), Params(100, 100, 3, /*passive=*/true));
  b.s->Start();
  RunFor(seconds(5));
  EXPECT_TRUE(b.sent.empty());
  EXPECT_EQ(b.state(), SessionState::kDown);
  a.s->Start();
  RunFor(seconds(1));
  EXPECT_EQ(a.state(), SessionState::kUp);
  EXPECT_EQ(b.state(), SessionState::kUp);
  EXPECT_FALSE(b.sent.empty());
  // Once the active side is gone for a detection time, the passive side falls silent again.
  wire_up = false;
  RunFor(seconds(1));
  EXPECT_EQ(b.state(), SessionState::kDown);
  const size_t sent = b.sent.size();
  RunFor(seconds(5));
  EXPECT_EQ(b.sent.size(), sent);
}

TEST_F(Pair, BothPassiveNeverTalk) {
  Make(Params(100, 100, 3, true), Params(100, 100, 3, true));
  Start();
  RunFor(seconds(5));
  EXPECT_TRUE(a.sent.empty());
  EXPECT_TRUE(b.sent.empty());
  EXPECT_EQ(a.state(), SessionState::kDown);
}

TEST_F(Pair, SlowerTxWaitsForFinal) {
  Make(Params(100, 100, 3), Params(100, 100, 3));
  Start();
  RunFor(seconds(1));
  ASSERT_EQ(a.state(), SessionState::kUp);
  wire_up = false;  // hold the peer's Final back
  a.s->Reconfigure(Params(400, 100, 3));
  EXPECT_TRUE(a.s->poll_active());
  EXPECT_TRUE(a.sent.back().poll);
  EXPECT_EQ(a.sent.back().desired_min_tx, milliseconds(400));  // advertised at once
  EXPECT_EQ(a.s->transmit_interval(), milliseconds(100));      // used only after Final
  a.outbox.clear();
  wire_up = true;
  RunFor(milliseconds(150));
  EXPECT_FALSE(a.s->poll_active());
  EXPECT_EQ(a.s->transmit_interval(), milliseconds(400));
  EXPECT_EQ(b.s->detection_time(), milliseconds(1200));  // b times us by what we advertise
  EXPECT_EQ(a.state(), SessionState::kUp);
  EXPECT_EQ(b.state(), SessionState::kUp);
}

TEST_F(Pair, FasterRxWaitsForFinalAndPollsAgainOnSecondChange) {
  Make(Params(100, 300, 3), Params(100, 100, 3));
  Start();
  RunFor(seconds(1));
  ASSERT_EQ(a.s->detection_time(), milliseconds(900));
  wire_up = false;
  a.s->Reconfigure(Params(100, 100, 3));
  EXPECT_EQ(a.s->detection_time(), milliseconds(900));  // old value until Final
  a.s->Reconfigure(Params(100, 50, 3));                 // during the poll: polls again later
  a.outbox.clear();
  wire_up = true;
  RunFor(milliseconds(500));
  EXPECT_FALSE(a.s->poll_active());
  EXPECT_EQ(a.s->detection_time(), milliseconds(300));  // 3 x max(50, peer's 100)
  size_t polls = 0;
  for (auto& p : a.sent) polls += p.poll && p.required_min_rx == milliseconds(50);
  EXPECT_GE(polls, 1u);
}

TEST_F(Pair, PollIsAnsweredAtOnceWithFinal) {
  Make(Params(100, 100, 3), Params(100, 100, 3));
  Start();
  RunFor(seconds(1));
  ControlPacket p = b.sent.back();
  p.poll = true;
  p.final = false;
  b.outbox.clear();
  const size_t before = a.sent.size();
  EXPECT_EQ(a.s->Receive(Encode(p)), DropReason::kNone);
  ASSERT_EQ(a.sent.size(), before + 1);
  EXPECT_TRUE(a.sent.back().final);
  EXPECT_FALSE(a.sent.back().poll);
}

TEST_F(Pair, JitterBounds) {
  Make(Params(100, 100, 3), Params(100, 100, 1));
  Start();
  RunFor(seconds(1));
  a.tx_arms.clear();
  b.tx_arms.clear();
  a.random = 0.999999;  // largest reduction: 25%
  b.random = 0.0;       // smallest: none, but Detect Mult 1 caps the interval at 90%
  RunFor(seconds(1));
  ASSERT_FALSE(a.tx_arms.empty());
  ASSERT_FALSE(b.tx_arms.empty());
  for (Micros m : a.tx_arms) {
    EXPECT_GE(m, milliseconds(75));
    EXPECT_LT(m, milliseconds(76));
  }
  for (Micros m : b.tx_arms) {
    EXPECT_LE(m, milliseconds(90));
    EXPECT_GE(m, milliseconds(75));
  }
}

TEST_F(Pair, MalformedAndMisaddressedPacketsChangeNothing) {
  Make(Params(100, 100, 3), Params(100, 100, 3));
  a.s->Start();
  ControlPacket p;
  p.state = SessionState::kDown;
  p.detect_mult = 3;
  p.my_discriminator = 0x2222;
  p.desired_min_tx = seconds(1);
  p.required_min_rx = milliseconds(100);
  auto bad_version = Encode(p);
  bad_version[0] = 0x40;
  EXPECT_EQ(a.s->Receive(bad_version), DropReason::kBadVersion);
  auto short_packet = Encode(p);
  short_packet.resize(10);
  EXPECT_EQ(a.s->Receive(short_packet), DropReason::kTruncated);
  ControlPacket wrong = p;
  wrong.your_discriminator = 0x9999;
  EXPECT_EQ(a.s->Receive(Encode(wrong)), DropReason::kUnknownDiscriminator);
  ControlPacket zero_mult = p;
  zero_mult.detect_mult = 0;
  EXPECT_EQ(a.s->Receive(Encode(zero_mult)), DropReason::kZeroDetectMult);
  EXPECT_EQ(a.state(), SessionState::kDown);
  EXPECT_EQ(a.s->packets_received(), 0u);
  EXPECT_EQ(a.s->remote_discriminator(), 0u);
  EXPECT_EQ(a.s->Receive(Encode(p)), DropReason::kNone);
  EXPECT_EQ(a.state(), SessionState::kInit);
}

TEST_F(Pair, LargerDetectTimeAfterReconfigureKeepsSessionUp) {
  Make(Params(100, 100, 3), Params(100, 100, 3));
  Start();
  RunFor(seconds(1));
  // A profile edit to 300 ms x 5 applies without a flap on either side.
  a.s->Reconfigure(Params(300, 300, 5));
  RunFor(seconds(3));
  EXPECT_EQ(a.state(), SessionState::kUp);
  EXPECT_EQ(b.state(), SessionState::kUp);
  EXPECT_EQ(a.changes.back().to, SessionState::kUp);
  EXPECT_EQ(b.s->detection_time(), milliseconds(1500));
  EXPECT_EQ(a.s->detection_time(), milliseconds(900));
}

}  // namespace
}  // namespace ironlb::bgp::bfd
