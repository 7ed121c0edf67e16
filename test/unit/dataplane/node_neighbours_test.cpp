// PlanNeighbours: which neighbour entries the agent creates, re-creates, removes or leaves to a
// probe, from the wanted nodes and a dump of the kernel's tables. (The kernel side runs in
// test/e2e/test_dsr.py.)
#include "dataplane/node_neighbours.h"

#include <gtest/gtest.h>
#include <linux/neighbour.h>

namespace ironlb::dataplane {
namespace {

IPAddr A(const char* s) {
  return *IPAddr::Parse(s);
}

NeighbourEntry Entry(const char* addr, uint16_t state, uint8_t protocol = kNeighbourProtocol,
                     bool managed = true, uint32_t ifindex = 2) {
  NeighbourEntry e;
  e.hop = {ifindex, A(addr)};
  e.state = state;
  e.protocol = protocol;
  e.managed = managed;
  return e;
}

const std::map<IPAddr, NextHop> kTwoNodes = {
    {A("203.0.113.12"), {2, A("203.0.113.12")}},  // on the uplink's segment
    {A("fd00:f::13"), {2, A("fd00:f::13")}},
};

TEST(PlanNeighbours, MissingEntriesAreCreated) {
  const auto p = PlanNeighbours(kTwoNodes, {}, false, true);
  EXPECT_EQ(p.create, (std::vector<NextHop>{{2, A("203.0.113.12")}, {2, A("fd00:f::13")}}));
  EXPECT_TRUE(p.recreate.empty() && p.remove.empty() && p.probe.empty());
}

TEST(PlanNeighbours, OursResolvedOrResolvingAreLeftToTheKernel) {
  const auto p = PlanNeighbours(
      kTwoNodes, {Entry("203.0.113.12", NUD_REACHABLE), Entry("fd00:f::13", NUD_INCOMPLETE)}, false,
      true);
  EXPECT_TRUE(p.create.empty() && p.recreate.empty() && p.remove.empty() && p.probe.empty());
}

TEST(PlanNeighbours, FailedOnesAreAskedAgainAndStillResolvingOnesWhenALinkComesBack) {
  const std::vector<NeighbourEntry> kernel = {Entry("203.0.113.12", NUD_FAILED),
                                              Entry("fd00:f::13", NUD_INCOMPLETE)};
  EXPECT_EQ(PlanNeighbours(kTwoNodes, kernel, false, true).recreate,
            (std::vector<NextHop>{{2, A("203.0.113.12")}}));
  EXPECT_EQ(PlanNeighbours(kTwoNodes, kernel, true, true).recreate,
            (std::vector<NextHop>{{2, A("203.0.113.12")}, {2, A("fd00:f::13")}}));
}

TEST(PlanNeighbours, SomeoneElsesEntryIsNeverTouchedOnlyProbed) {
  // The kernel's own dynamic entry (no protocol) and an operator's permanent one.
  const auto p = PlanNeighbours(kTwoNodes,
                                {Entry("203.0.113.12", NUD_STALE, 0, false),
                                 Entry("fd00:f::13", NUD_PERMANENT, 4 /* static */, false)},
                                true, true);
  EXPECT_TRUE(p.create.empty() && p.recreate.empty() && p.remove.empty());
  EXPECT_EQ(p.probe, (std::vector<IPAddr>{A("203.0.113.12"), A("fd00:f::13")}));
  EXPECT_FALSE(p.managed_ignored);
}

TEST(PlanNeighbours, OursForNodesGoneAreRemovedAndOnlyOurs) {
  const auto p =
      PlanNeighbours({{A("203.0.113.12"), {2, A("203.0.113.12")}}},
                     {Entry("203.0.113.12", NUD_REACHABLE), Entry("203.0.113.13", NUD_REACHABLE),
                      Entry("203.0.113.14", NUD_REACHABLE, 0, false),
                      Entry("203.0.113.12", NUD_REACHABLE, kNeighbourProtocol, true, 7)},
                     false, true);
  EXPECT_EQ(p.remove, (std::vector<NextHop>{{2, A("203.0.113.13")}, {7, A("203.0.113.12")}}))
      << "ours for a node gone, and ours on an interface the route no longer takes";
  EXPECT_TRUE(p.create.empty() && p.probe.empty());
}

TEST(PlanNeighbours, NodesBehindOneGatewayShareItsEntry) {
  const std::map<IPAddr, NextHop> routed = {{A("198.18.1.10"), {3, A("192.0.2.1")}},
                                            {A("198.18.2.10"), {3, A("192.0.2.1")}}};
  EXPECT_EQ(PlanNeighbours(routed, {}, false, true).create,
            (std::vector<NextHop>{{3, A("192.0.2.1")}}));
  EXPECT_TRUE(PlanNeighbours(routed, {}, false, true).remove.empty());
}

TEST(PlanNeighbours, AKernelThatDroppedTheManagedFlagIsNoticed) {
  const auto p = PlanNeighbours(
      kTwoNodes, {Entry("203.0.113.12", NUD_REACHABLE, kNeighbourProtocol, false)}, false, true);
  EXPECT_TRUE(p.managed_ignored);
}

TEST(PlanNeighbours, WithoutManagedEntriesEveryNodeIsProbedAndOursRemoved) {
  const auto p = PlanNeighbours(
      kTwoNodes, {Entry("203.0.113.12", NUD_REACHABLE, kNeighbourProtocol, false)}, false, false);
  EXPECT_EQ(p.probe, (std::vector<IPAddr>{A("203.0.113.12"), A("fd00:f::13")}));
  EXPECT_EQ(p.remove, (std::vector<NextHop>{{2, A("203.0.113.12")}}));
  EXPECT_TRUE(p.create.empty() && p.recreate.empty());
}

}  // namespace
}  // namespace ironlb::dataplane
