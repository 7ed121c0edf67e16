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
  Membership m_{"node-a", milliseconds(300), t0_};
  void SetUp() override {
    m_.SetPeers({{"node-b", {A("192.0.2.2")}}, {"node-c", {A("192.0.2.3"), A("2001:db8::3")}}},
                t0_);
  }
  Verdict Hb(const char* node, uint64_t boot, uint64_t seq, const char* from, Clock::time_point t,
             bool available = true) {
    return m_.OnHeartbeat({node, boot, seq, available}, A(from), t);
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
