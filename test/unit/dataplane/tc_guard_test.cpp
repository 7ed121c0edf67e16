// TcGuard against a fake kernel: a missing tc program is attached again and counted, the
// tc_lb_ingress vouch follows the ingress hook (renewed while attached, withdrawn at once when it
// is gone and cannot come back), and a failing attach is retried every pass without throwing.
#include "dataplane/tc_guard.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <stdexcept>
#include <string>

namespace ironlb::dataplane {
namespace {

constexpr uint64_t kSecond = 1'000'000'000ull;

struct FakeKernel {
  std::set<std::pair<uint32_t, TcHook>> attached;
  std::set<std::pair<uint32_t, TcHook>> refuse;  // attaching these throws
  std::map<uint32_t, uint64_t> vouch;
  uint64_t now = 100 * kSecond;
  int attaches = 0;
};

class FakeHooks : public TcHooks {
 public:
  explicit FakeHooks(FakeKernel& k) : k_(k) {}
  bool Attached(uint32_t ifindex, TcHook hook) override {
    return k_.attached.count({ifindex, hook}) > 0;
  }
  void Attach(uint32_t ifindex, const std::string& ifname, TcHook hook) override {
    ++k_.attaches;
    if (k_.refuse.count({ifindex, hook}))
      throw std::runtime_error("cannot attach on " + ifname + ": Operation not permitted");
    k_.attached.insert({ifindex, hook});
  }
  void Vouch(uint32_t ifindex, uint64_t until_ns) override { k_.vouch[ifindex] = until_ns; }
  uint64_t NowNs() override { return k_.now; }

 private:
  FakeKernel& k_;
};

class TcGuardTest : public ::testing::Test {
 protected:
  TcGuardTest()
      : guard_(std::make_unique<FakeHooks>(k_),
               std::vector<TcGuard::Interface>{{"eth0", 2}, {"eth1", 3}}) {
    for (uint32_t i : {2u, 3u})
      for (TcHook h : {TcHook::kIngress, TcHook::kEgress}) k_.attached.insert({i, h});
  }
  FakeKernel k_;
  TcGuard guard_;
  // "eth0/egress", ... for every program attached again so far.
  std::vector<std::string> Reattached() const {
    std::vector<std::string> out;
    for (const auto& s : guard_.State()) {
      if (s.reattached_egress) out.push_back(s.name + "/egress");
      if (s.reattached_ingress) out.push_back(s.name + "/ingress");
    }
    return out;
  }
};

TEST_F(TcGuardTest, EverythingAttachedIsVouchedForTenSecondsAndLeftAlone) {
  guard_.Check();
  EXPECT_EQ(k_.attaches, 0);
  EXPECT_EQ(k_.vouch[2], k_.now + 10 * kSecond);
  EXPECT_EQ(k_.vouch[3], k_.now + 10 * kSecond);
  k_.now += kSecond;
  guard_.Check();
  EXPECT_EQ(k_.vouch[2], k_.now + 10 * kSecond) << "renewed on every pass";
  const auto st = guard_.Status();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0]["name"], "eth0");
  EXPECT_EQ(st[0]["ingress"], true);
  EXPECT_EQ(st[0]["egress"], true);
  EXPECT_EQ(st[0]["ingress_vouched_ms"], 10000);
  EXPECT_TRUE(Reattached().empty());
}

TEST_F(TcGuardTest, ARemovedFilterIsAttachedAgainCountedAndStillVouched) {
  guard_.Check();
  k_.attached.erase({3, TcHook::kIngress});
  k_.attached.erase({2, TcHook::kEgress});
  k_.now += kSecond;
  guard_.Check();
  EXPECT_TRUE(k_.attached.count({3, TcHook::kIngress}));
  EXPECT_TRUE(k_.attached.count({2, TcHook::kEgress}));
  EXPECT_EQ(Reattached(), (std::vector<std::string>{"eth0/egress", "eth1/ingress"}));
  EXPECT_EQ(guard_.State()[1].reattached_ingress, 1u);
  EXPECT_EQ(guard_.State()[0].reattached_egress, 1u);
  EXPECT_EQ(k_.vouch[3], k_.now + 10 * kSecond);
  EXPECT_EQ(guard_.Status()[1]["reattached"]["ingress"], 1);
}

// Attach refused (at start, or after the filter went): no vouch, so xdp_lb drops what it would hand
// up (drop_no_tc_ingress) instead of losing it unseen; every pass tries again, and once it works
// the vouch is back.
TEST_F(TcGuardTest, AnIngressThatCannotAttachWithdrawsTheVouchAndIsRetried) {
  guard_.Check();
  ASSERT_GT(k_.vouch[2], 0u);
  k_.attached.erase({2, TcHook::kIngress});
  k_.refuse.insert({2, TcHook::kIngress});
  ::testing::internal::CaptureStderr();
  for (int i = 0; i < 3; ++i) {
    k_.now += kSecond;
    EXPECT_NO_THROW(guard_.Check());
    EXPECT_EQ(k_.vouch[2], 0u) << "withdrawn at once, not left to lapse";
    EXPECT_FALSE(guard_.State()[0].ingress);
    EXPECT_TRUE(guard_.State()[0].ingress_failing);
    EXPECT_FALSE(guard_.State()[1].ingress_failing);
    EXPECT_EQ(k_.vouch[3], k_.now + 10 * kSecond) << "the other interface is unaffected";
  }
  const std::string warned = ::testing::internal::GetCapturedStderr();
  const std::string line = "eth0 tc ingress: ironlb's program is missing and cannot be attached";
  ASSERT_NE(warned.find(line), std::string::npos) << warned;
  EXPECT_EQ(warned.find(line, warned.find(line) + 1), std::string::npos)
      << "one warning per outage, not one per pass:\n"
      << warned;
  EXPECT_EQ(k_.attaches, 3);
  EXPECT_EQ(guard_.Status()[0]["ingress_vouched_ms"], 0);
  k_.refuse.clear();
  k_.now += kSecond;
  guard_.Check();
  EXPECT_TRUE(guard_.State()[0].ingress);
  EXPECT_FALSE(guard_.State()[0].ingress_failing);
  EXPECT_EQ(k_.vouch[2], k_.now + 10 * kSecond);
  EXPECT_EQ(guard_.State()[0].reattached_ingress, 1u);
}

}  // namespace
}  // namespace ironlb::dataplane
