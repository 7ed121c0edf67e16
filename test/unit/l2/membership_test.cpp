// Membership stepped on a fake clock: health by heartbeat age, replay protection, addresses.
#include "l2/membership.h"

#include <gtest/gtest.h>

namespace ironlb::l2 {
namespace {

using std::chrono::milliseconds;

IPAddr A(const char* s) {
  return *IPAddr::Parse(s);
}

class MembershipTest : public ::testing::Test {
 protected:
  Clock::time_point t0_ = Clock::time_point() + std::chrono::hours(1);
  static constexpr uint64_t kBoot = 1700000000000000000ull;  // node-a's
  Membership m_{"node-a", milliseconds(300), t0_, kBoot};
  void SetUp() override {
    m_.SetPeers({{"node-b", {A("192.0.2.2")}}, {"node-c", {A("192.0.2.3"), A("2001:db8::3")}}},
                t0_);
  }
  Verdict Hb(const char* node, uint64_t boot, uint64_t seq, const char* from, Clock::time_point t,
             bool available = true, uint64_t echo = kBoot) {
    return m_.OnHeartbeat({node, boot, seq, available, echo}, A(from), t);
  }
};

TEST_F(MembershipTest, NewPeersArePresumedAliveForOneDetectionTime) {
  EXPECT_EQ(m_.Healthy(t0_), (std::set<std::string>{"node-a", "node-b", "node-c"}));
  EXPECT_EQ(m_.Healthy(t0_ + milliseconds(299)).size(), 3u);
  EXPECT_EQ(m_.Healthy(t0_ + milliseconds(300)), (std::set<std::string>{"node-a"}));
}

TEST_F(MembershipTest, HeartbeatsKeepAPeerAliveUntilTheyStop) {
  auto t = t0_;
  for (uint64_t seq = 1; seq <= 10; ++seq) {
    t += milliseconds(100);
    EXPECT_EQ(Hb("node-b", 7, seq, "192.0.2.2", t), Verdict::kAccepted);
    EXPECT_TRUE(m_.Healthy(t).count("node-b"));
  }
  EXPECT_TRUE(m_.Healthy(t + milliseconds(299)).count("node-b"));
  EXPECT_FALSE(m_.Healthy(t + milliseconds(300)).count("node-b")) << "three intervals missed";
}

TEST_F(MembershipTest, ReplayedAndOldHeartbeatsAreRejected) {
  const auto t = t0_ + milliseconds(250);
  EXPECT_EQ(Hb("node-b", 7, 5, "192.0.2.2", t), Verdict::kAccepted);
  EXPECT_EQ(Hb("node-b", 7, 5, "192.0.2.2", t), Verdict::kReplay) << "duplicate";
  EXPECT_EQ(Hb("node-b", 7, 4, "192.0.2.2", t), Verdict::kReplay) << "older sequence";
  EXPECT_EQ(Hb("node-b", 6, 99, "192.0.2.2", t), Verdict::kReplay) << "an earlier boot";
  EXPECT_EQ(Hb("node-b", 8, 1, "192.0.2.2", t), Verdict::kAccepted) << "a restart";
  EXPECT_EQ(Hb("node-b", 7, 6, "192.0.2.2", t), Verdict::kReplay) << "the old boot is over";
  // A replay stream cannot keep a dead node alive.
  const auto later = t + milliseconds(400);
  EXPECT_EQ(Hb("node-b", 7, 5, "192.0.2.2", later), Verdict::kReplay);
  EXPECT_FALSE(m_.Healthy(later).count("node-b"));
}

TEST_F(MembershipTest, ReplayStateSurvivesThePeerLeavingTheModel) {
  EXPECT_EQ(Hb("node-b", 7, 5, "192.0.2.2", t0_), Verdict::kAccepted);
  m_.SetPeers({}, t0_);
  m_.SetPeers({{"node-b", {A("192.0.2.2")}}}, t0_);
  EXPECT_EQ(Hb("node-b", 7, 5, "192.0.2.2", t0_), Verdict::kReplay);
}

// The gap the echo closes: a heartbeat captured before this agent started (node-b was alive then,
// and is dead now) would pass the (boot, seq) check once, there being no high-water mark yet.
TEST_F(MembershipTest, AFirstContactMustEchoOurBootId) {
  const auto t = t0_ + milliseconds(400);  // past the presumption: node-b is dead until heard
  const uint64_t before_our_start = kBoot - 5'000'000'000ull;
  EXPECT_EQ(Hb("node-b", 7, 900, "192.0.2.2", t, true, before_our_start), Verdict::kUnconfirmed)
      << "a capture from our previous life";
  EXPECT_EQ(Hb("node-b", 7, 901, "192.0.2.2", t, true, 0), Verdict::kUnconfirmed)
      << "a capture from before node-b ever heard of us";
  EXPECT_FALSE(m_.Healthy(t).count("node-b")) << "replays cannot revive a dead node";
  // Clock skew plays no part: the echo is compared for equality, never with a clock.
  EXPECT_EQ(Hb("node-b", 7, 902, "192.0.2.2", t), Verdict::kAccepted) << "echoes our boot";
  EXPECT_TRUE(m_.Healthy(t).count("node-b"));
  // From then on the high-water mark rules, echo or not (node-b restarting has not heard us yet).
  EXPECT_EQ(Hb("node-b", 7, 900, "192.0.2.2", t, true, kBoot), Verdict::kReplay);
  EXPECT_EQ(Hb("node-b", 8, 1, "192.0.2.2", t, true, 0), Verdict::kAccepted) << "node-b restarted";
}

TEST_F(MembershipTest, TheEchoToSendIsTheHighestVerifiedBootSeen) {
  EXPECT_EQ(m_.EchoFor("node-b"), 0u) << "never heard";
  // Unconfirmed heartbeats still teach node-b's boot id: that is the handshake.
  EXPECT_EQ(Hb("node-b", 7, 1, "192.0.2.2", t0_, true, 0), Verdict::kUnconfirmed);
  EXPECT_EQ(m_.EchoFor("node-b"), 7u);
  // A replay from an older boot does not move it back.
  EXPECT_EQ(Hb("node-b", 5, 1, "192.0.2.2", t0_, true, 0), Verdict::kUnconfirmed);
  EXPECT_EQ(m_.EchoFor("node-b"), 7u);
  // Not from the node's address: learns nothing.
  EXPECT_EQ(Hb("node-b", 9, 1, "192.0.2.3", t0_), Verdict::kWrongAddress);
  EXPECT_EQ(m_.EchoFor("node-b"), 7u);
}

// Two agents started apart complete the handshake: each answers a new boot id at once.
TEST(MembershipHandshake, TwoFreshAgentsConfirmEachOther) {
  const auto t = Clock::time_point() + std::chrono::hours(1);
  const uint64_t boot_a = 100, boot_b = 200;
  Membership a("a", milliseconds(300), t, boot_a), b("b", milliseconds(300), t, boot_b);
  a.SetPeers({{"b", {A("192.0.2.2")}}}, t);
  b.SetPeers({{"a", {A("192.0.2.1")}}}, t);
  // a speaks first, knowing nothing of b.
  EXPECT_EQ(b.OnHeartbeat({"a", boot_a, 1, true, a.EchoFor("b")}, A("192.0.2.1"), t),
            Verdict::kUnconfirmed);
  // b answers at once, echoing a's boot; a accepts it and learns b's.
  EXPECT_EQ(a.OnHeartbeat({"b", boot_b, 1, true, b.EchoFor("a")}, A("192.0.2.2"), t),
            Verdict::kAccepted);
  // a answers b's new boot at once.
  EXPECT_EQ(b.OnHeartbeat({"a", boot_a, 2, true, a.EchoFor("b")}, A("192.0.2.1"), t),
            Verdict::kAccepted);
}

TEST_F(MembershipTest, OnlyKnownNodesFromTheirOwnAddresses) {
  EXPECT_EQ(Hb("node-x", 1, 1, "192.0.2.9", t0_), Verdict::kUnknownNode);
  EXPECT_EQ(Hb("node-a", 1, 1, "192.0.2.2", t0_), Verdict::kUnknownNode) << "our own name";
  EXPECT_EQ(Hb("node-b", 1, 1, "192.0.2.3", t0_), Verdict::kWrongAddress) << "node-c's address";
  EXPECT_EQ(Hb("node-c", 1, 1, "2001:db8::3", t0_), Verdict::kAccepted);
}

TEST_F(MembershipTest, AnUnavailablePeerLeavesAtOnce) {
  EXPECT_EQ(Hb("node-b", 1, 1, "192.0.2.2", t0_, false), Verdict::kAccepted);
  EXPECT_FALSE(m_.Healthy(t0_).count("node-b"));
  EXPECT_EQ(Hb("node-b", 1, 2, "192.0.2.2", t0_, true), Verdict::kAccepted);
  EXPECT_TRUE(m_.Healthy(t0_).count("node-b"));
  m_.SetSelfAvailable(false);
  EXPECT_FALSE(m_.Healthy(t0_).count("node-a"));
}

}  // namespace
}  // namespace ironlb::l2
