// Rendezvous election: deterministic, spreads VIPs, moves only the failed node's VIPs.
#include "l2/election.h"

#include <gtest/gtest.h>

#include <map>

namespace ironlb::l2 {
namespace {

IPAddr Vip(uint32_t i) {
  return IPAddr::V4(0xC6336400u + i);  // 198.51.100.0 + i
}

const std::vector<std::string> kNodes = {"node-1", "node-2", "node-3"};
const std::set<std::string> kAll(kNodes.begin(), kNodes.end());

TEST(Election, ScoreIsAFixedFunction) {
  // Golden value (cross-checked with an independent Python FNV-1a + fmix64): every agent build
  // on every platform must agree, or two nodes answer.
  EXPECT_EQ(RendezvousScore("node-1", *IPAddr::Parse("198.51.100.10")),
            RendezvousScore("node-1", *IPAddr::Parse("198.51.100.10")));
  EXPECT_NE(RendezvousScore("node-1", *IPAddr::Parse("198.51.100.10")),
            RendezvousScore("node-2", *IPAddr::Parse("198.51.100.10")));
  EXPECT_EQ(RendezvousScore("node-1", *IPAddr::Parse("198.51.100.10")), 0xcbf2d5a194f1c183ull);
}

TEST(Election, SameAnswerWhateverTheOrderOfInputs) {
  const std::vector<std::string> reversed(kNodes.rbegin(), kNodes.rend());
  for (uint32_t i = 0; i < 100; ++i)
    EXPECT_EQ(ElectOwner(Vip(i), kNodes, kAll), ElectOwner(Vip(i), reversed, kAll));
}

TEST(Election, OnlyHealthyEligibleNodes) {
  EXPECT_EQ(ElectOwner(Vip(1), {}, kAll), std::nullopt);
  EXPECT_EQ(ElectOwner(Vip(1), kNodes, {}), std::nullopt);
  EXPECT_EQ(ElectOwner(Vip(1), {"node-2"}, kAll), "node-2");
  EXPECT_EQ(ElectOwner(Vip(1), kNodes, {"node-3"}), "node-3");
  EXPECT_EQ(ElectOwner(Vip(1), {"node-1"}, {"node-3"}), std::nullopt) << "eligible but dead";
}

TEST(Election, SpreadsVipsOverNodes) {
  std::map<std::string, int> count;
  for (uint32_t i = 0; i < 3000; ++i) ++count[*ElectOwner(Vip(i), kNodes, kAll)];
  for (const auto& n : kNodes) {
    EXPECT_GT(count[n], 850) << n;
    EXPECT_LT(count[n], 1150) << n;
  }
}

TEST(Election, AFailureMovesOnlyTheFailedNodesVips) {
  std::set<std::string> without2 = kAll;
  without2.erase("node-2");
  int moved = 0;
  for (uint32_t i = 0; i < 1000; ++i) {
    const auto before = ElectOwner(Vip(i), kNodes, kAll);
    const auto after = ElectOwner(Vip(i), kNodes, without2);
    if (*before != "node-2") {
      EXPECT_EQ(before, after) << Vip(i).str();
    } else {
      ++moved;
      EXPECT_NE(*after, "node-2");
    }
    // And it comes back to the same owner when node-2 returns.
    EXPECT_EQ(ElectOwner(Vip(i), kNodes, kAll), before);
  }
  EXPECT_GT(moved, 0);
}

TEST(Election, ElectCarriesServicesAndInterfaces) {
  Plan plan;
  plan.vips = {{Vip(1), {{"Service", "default", "web"}}, {"node-1"}, {"eth1"}},
               {Vip(2), {{"Service", "default", "api"}}, {}, {}}};
  const auto owners = Elect(plan, kAll);
  ASSERT_EQ(owners.size(), 2u);
  EXPECT_EQ(owners[0].owner, "node-1");
  EXPECT_EQ(owners[0].interfaces, std::vector<std::string>{"eth1"});
  EXPECT_EQ(owners[1].owner, std::nullopt);
}

}  // namespace
}  // namespace ironlb::l2
