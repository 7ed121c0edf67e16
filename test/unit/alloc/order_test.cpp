// Which pool a Service's address comes from: priority, names, selectors, autoAssign,
// avoidBuggyIPs, first free address.
#include <gtest/gtest.h>

#include "alloc_fixtures.h"

namespace ironlb::alloc {
namespace {

using namespace testing;

IPAddressPool Pinned(const std::string& name, const char* cidr, int priority) {
  IPAddressPool p = Pool(name, {cidr});
  p.service_allocation = ServiceAllocation{};
  p.service_allocation->priority = priority;
  return p;
}

TEST(PoolOrder, FallbackPoolsInNameOrderFirstFreeAddress) {
  Allocator a;
  a.SetPools(Pools({Pool("zeta", {"10.9.0.0/30"}), Pool("alpha", {"10.1.0.0/31"})}));
  auto as = MustAssign(a, Req("ns/a"));
  EXPECT_EQ(as.pool, "alpha");
  EXPECT_EQ(Strs(as.ips), std::vector<std::string>{"10.1.0.0"});
  EXPECT_EQ(FirstIp(a, Req("ns/b")), "10.1.0.1");
  EXPECT_EQ(FirstIp(a, Req("ns/c")), "10.9.0.0");  // alpha exhausted
  a.Release("ns/a");
  EXPECT_EQ(FirstIp(a, Req("ns/d")), "10.1.0.0");  // lowest free again
}

TEST(PoolOrder, PinnedPoolsByPriorityUnsetLastThenFallback) {
  Allocator a;
  a.SetPools(Pools({Pool("aaa-default", {"10.0.0.0/32"}), Pinned("p-two", "10.2.0.0/32", 2),
                    Pinned("p-one", "10.1.0.0/32", 1), Pinned("p-unset", "10.3.0.0/32", 0)}));
  EXPECT_EQ(MustAssign(a, Req("ns/1")).pool, "p-one");
  EXPECT_EQ(MustAssign(a, Req("ns/2")).pool, "p-two");
  EXPECT_EQ(MustAssign(a, Req("ns/3")).pool, "p-unset");
  EXPECT_EQ(MustAssign(a, Req("ns/4")).pool, "aaa-default");
  EXPECT_NE(MustRefuse(a, Req("ns/5")).find("no available IPv4 address"), std::string::npos);
}

TEST(PoolOrder, EqualPrioritiesTieByName) {
  Allocator a;
  a.SetPools(Pools({Pinned("b", "10.2.0.0/32", 5), Pinned("a", "10.1.0.0/32", 5)}));
  EXPECT_EQ(MustAssign(a, Req("ns/1")).pool, "a");
}

TEST(PoolOrder, NamespaceListSelectsPoolOthersNeverUseIt) {
  Allocator a;
  IPAddressPool team = Pool("team", {"10.1.0.0/32"});
  team.service_allocation = ServiceAllocation{};
  team.service_allocation->namespaces = {"team-a"};
  a.SetPools(Pools({team, Pool("shared", {"10.0.0.0/32"})}));
  EXPECT_EQ(MustAssign(a, Req("team-a/web")).pool, "team");
  EXPECT_EQ(MustAssign(a, Req("team-b/web")).pool, "shared");
  // shared is exhausted; team's pool still does not serve team-b.
  const std::string why = MustRefuse(a, Req("team-b/api"));
  EXPECT_NE(why.find("\"shared\": no free IPv4"), std::string::npos) << why;
  EXPECT_EQ(why.find("\"team\""), std::string::npos) << why;
  // Pinned pool exhausted: team-a falls back to the shared pool (freed first).
  a.Release("team-b/web");
  EXPECT_EQ(MustAssign(a, Req("team-a/api")).pool, "shared");
}

TEST(PoolOrder, NamespaceSelectorMatchesNamespaceLabels) {
  Allocator a;
  IPAddressPool prod = Pool("prod", {"10.1.0.0/32"});
  prod.service_allocation = ServiceAllocation{};
  prod.service_allocation->namespace_selectors = {LabelSelector{{{"env", "prod"}}, {}}};
  a.SetPools(Pools({prod, Pool("other", {"10.0.0.0/30"})}));
  Request dev = Req("dev/x");
  dev.namespace_labels = {{"env", "dev"}};
  EXPECT_EQ(MustAssign(a, dev).pool, "other");
  Request prd = Req("shop/x");
  prd.namespace_labels = {{"env", "prod"}};
  EXPECT_EQ(MustAssign(a, prd).pool, "prod");
}

TEST(PoolOrder, ServiceSelectorMatchesServiceLabels) {
  Allocator a;
  IPAddressPool gold = Pool("gold", {"10.1.0.0/32"});
  gold.service_allocation = ServiceAllocation{};
  LabelRequirement in_tier{"tier", LabelRequirement::Op::kIn, {"gold", "platinum"}};
  gold.service_allocation->service_selectors = {LabelSelector{{}, {in_tier}}};
  a.SetPools(Pools({gold, Pool("other", {"10.0.0.0/30"})}));
  Request plain = Req("ns/plain");
  EXPECT_EQ(MustAssign(a, plain).pool, "other");
  Request vip = Req("ns/vip");
  vip.service_labels = {{"tier", "platinum"}};
  EXPECT_EQ(MustAssign(a, vip).pool, "gold");
}

TEST(PoolOrder, NamespaceAndServiceSelectorsMustBothMatch) {
  Allocator a;
  IPAddressPool p = Pool("p", {"10.1.0.0/30"});
  p.service_allocation = ServiceAllocation{};
  p.service_allocation->namespaces = {"shop"};
  p.service_allocation->service_selectors = {LabelSelector{{{"app", "web"}}, {}}};
  a.SetPools(Pools({p}));
  Request wrong_ns = Req("blog/web");
  wrong_ns.service_labels = {{"app", "web"}};
  MustRefuse(a, wrong_ns);
  Request wrong_label = Req("shop/db");
  wrong_label.service_labels = {{"app", "db"}};
  MustRefuse(a, wrong_label);
  Request both = Req("shop/web");
  both.service_labels = {{"app", "web"}};
  EXPECT_EQ(MustAssign(a, both).pool, "p");
}

TEST(PoolOrder, AutoAssignFalseOnlyOnRequest) {
  Allocator a;
  IPAddressPool manual = Pool("manual", {"10.5.0.0/30"});
  manual.auto_assign = false;
  a.SetPools(Pools({manual}));
  const std::string why = MustRefuse(a, Req("ns/auto"));
  EXPECT_NE(why.find("autoAssign"), std::string::npos) << why;

  Request by_pool = Req("ns/by-pool");
  by_pool.pool = "manual";
  EXPECT_EQ(FirstIp(a, by_pool), "10.5.0.0");

  Request by_ip = Req("ns/by-ip");
  by_ip.requested = {Ip("10.5.0.3")};
  EXPECT_EQ(FirstIp(a, by_ip), "10.5.0.3");
}

TEST(PoolOrder, AutoAssignFalsePinnedPoolIsNotAutoAssigned) {
  Allocator a;
  IPAddressPool p = Pinned("pinned", "10.1.0.0/32", 1);
  p.auto_assign = false;
  a.SetPools(Pools({p, Pool("default", {"10.0.0.0/32"})}));
  EXPECT_EQ(MustAssign(a, Req("ns/x")).pool, "default");
}

TEST(PoolOrder, AvoidBuggyIPsSkipsDotZeroAndDot255) {
  Allocator a;
  IPAddressPool p = Pool("p", {"10.0.0.254-10.0.1.1"});
  p.avoid_buggy_ips = true;
  a.SetPools(Pools({p}));
  EXPECT_EQ(FirstIp(a, Req("ns/a")), "10.0.0.254");
  EXPECT_EQ(FirstIp(a, Req("ns/b")), "10.0.1.1");
  MustRefuse(a, Req("ns/c"));
  Request buggy = Req("ns/d");
  buggy.requested = {Ip("10.0.0.255")};
  const std::string why = MustRefuse(a, buggy);
  EXPECT_NE(why.find("avoidBuggyIPs"), std::string::npos) << why;
}

TEST(PoolOrder, WithoutAvoidBuggyIPsDotZeroIsHandedOut) {
  Allocator a;
  a.SetPools(Pools({Pool("p", {"10.0.0.0/24"})}));
  EXPECT_EQ(FirstIp(a, Req("ns/a")), "10.0.0.0");
}

TEST(PoolOrder, NamedPoolMustExistAndServeTheService) {
  Allocator a;
  IPAddressPool team = Pool("team", {"10.1.0.0/30"});
  team.service_allocation = ServiceAllocation{};
  team.service_allocation->namespaces = {"team-a"};
  a.SetPools(Pools({team}));
  Request r = Req("team-b/x");
  r.pool = "nope";
  EXPECT_NE(MustRefuse(a, r).find("does not exist"), std::string::npos);
  r.pool = "team";
  EXPECT_NE(MustRefuse(a, r).find("serviceAllocation"), std::string::npos);
}

TEST(PoolOrder, NoPoolsAtAll) {
  Allocator a;
  EXPECT_NE(MustRefuse(a, Req("ns/x")).find("no IPAddressPool"), std::string::npos);
}

TEST(PoolOrder, TenThousandServicesGetDistinctConsecutiveAddresses) {
  Allocator a;
  a.SetPools(Pools({Pool("big", {"10.0.0.0/16"})}));
  for (int i = 0; i < 10000; ++i) {
    auto as = MustAssign(a, Req("ns/s" + std::to_string(i)));
    ASSERT_EQ(as.ips.at(0).value(), Ip("10.0.0.0").value() + static_cast<u128>(i));
  }
  EXPECT_EQ(a.Usage("big")->assigned_ips, 10000u);
}

}  // namespace
}  // namespace ironlb::alloc
