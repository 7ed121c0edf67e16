// Exhaustion, idempotence, restart adoption, pool changes and usage counters.
#include <gtest/gtest.h>

#include "alloc_fixtures.h"

namespace ironlb::alloc {
namespace {

using namespace testing;

TEST(Lifecycle, ExhaustedPoolSaysSoThenFreedAddressIsReused) {
  Allocator a;
  a.SetPools(Pools({Pool("small", {"10.0.0.0/30"})}));
  for (int i = 0; i < 4; ++i) MustAssign(a, Req("ns/s" + std::to_string(i)));
  const std::string why = MustRefuse(a, Req("ns/late"));
  EXPECT_NE(why.find("no available IPv4 address"), std::string::npos) << why;
  EXPECT_NE(why.find("pool \"small\": no free IPv4 address"), std::string::npos) << why;
  a.Release("ns/s2");
  EXPECT_EQ(FirstIp(a, Req("ns/late")), "10.0.0.2");
}

TEST(Lifecycle, AssignIsIdempotent) {
  Allocator a;
  a.SetPools(Pools({Pool("p", {"10.0.0.0/24"})}));
  auto first = MustAssign(a, Req("ns/a"));
  MustAssign(a, Req("ns/b"));
  EXPECT_EQ(MustAssign(a, Req("ns/a")), first);
  Request with_ports = Req("ns/a");
  with_ports.ports = {{"TCP", 80}};
  EXPECT_EQ(MustAssign(a, with_ports), first);
  EXPECT_EQ(a.Assignments().size(), 2u);
  EXPECT_EQ(*a.Get("ns/a"), first);
}

TEST(Lifecycle, ReleaseOfUnknownKeyIsHarmless) {
  Allocator a;
  a.Release("ns/never");
  EXPECT_FALSE(a.Get("ns/never").has_value());
}

TEST(Lifecycle, RestartAdoptsStatusBeforeNewAllocations) {
  Allocator a;
  a.SetPools(Pools({Pool("p", {"10.0.0.0/30"})}));
  std::string why;
  ASSERT_TRUE(a.Adopt(Req("ns/running"), {Ip("10.0.0.0")}, &why)) << why;
  // A new Service cannot take the adopted address, neither automatically nor by request.
  EXPECT_EQ(FirstIp(a, Req("ns/new")), "10.0.0.1");
  Request thief = Req("ns/thief");
  thief.requested = {Ip("10.0.0.0")};
  MustRefuse(a, thief);
  // The running Service keeps its address when the controller converges it.
  EXPECT_EQ(FirstIp(a, Req("ns/running")), "10.0.0.0");
}

TEST(Lifecycle, AdoptRefusesWhatNoLongerFits) {
  Allocator a;
  a.SetPools(Pools({Pool("p", {"10.0.0.0/30"})}));
  std::string why;
  EXPECT_FALSE(a.Adopt(Req("ns/gone"), {Ip("192.0.2.1")}, &why));
  EXPECT_NE(why.find("not in any IPAddressPool"), std::string::npos) << why;
  EXPECT_FALSE(a.Get("ns/gone").has_value());
  // The caller then assigns afresh.
  EXPECT_EQ(FirstIp(a, Req("ns/gone")), "10.0.0.0");

  ASSERT_TRUE(a.Adopt(Req("ns/one"), {Ip("10.0.0.2")}, &why)) << why;
  EXPECT_FALSE(a.Adopt(Req("ns/two"), {Ip("10.0.0.2")}, &why));  // no sharing key
  EXPECT_NE(why.find("ns/one"), std::string::npos) << why;
  EXPECT_FALSE(a.Adopt(Req("ns/v6", {Family::kV6}), {Ip("10.0.0.3")}, &why));
  EXPECT_NE(why.find("IP families"), std::string::npos) << why;
}

TEST(Lifecycle, AdoptHonoursSharing) {
  Allocator a;
  a.SetPools(Pools({Pool("p", {"10.0.0.0/30"})}));
  std::string why;
  ASSERT_TRUE(a.Adopt(Shared("ns/web", "k", {{"TCP", 80}}), {Ip("10.0.0.1")}, &why)) << why;
  ASSERT_TRUE(a.Adopt(Shared("ns/tls", "k", {{"TCP", 443}}), {Ip("10.0.0.1")}, &why)) << why;
  EXPECT_EQ(a.ServicesOn(Ip("10.0.0.1")).size(), 2u);
}

TEST(Lifecycle, PoolShrinkEvictsOnlyServicesOutsideTheNewRanges) {
  Allocator a;
  a.SetPools(Pools({Pool("p", {"10.0.0.0/29"})}));
  for (int i = 0; i < 6; ++i) MustAssign(a, Req("ns/s" + std::to_string(i)));
  auto evicted = a.SetPools(Pools({Pool("p", {"10.0.0.0/30"})}));
  EXPECT_EQ(evicted, (std::vector<std::string>{"ns/s4", "ns/s5"}));
  EXPECT_FALSE(a.Get("ns/s4").has_value());
  EXPECT_EQ(a.Get("ns/s3")->ips.at(0).str(), "10.0.0.3");
  EXPECT_EQ(a.Usage("p")->assigned_ips, 4u);
  // Nothing is left for the evicted Services until the pool grows again.
  MustRefuse(a, Req("ns/s4"));
  a.SetPools(Pools({Pool("p", {"10.0.0.0/30", "10.0.1.0/30"})}));
  EXPECT_EQ(FirstIp(a, Req("ns/s4")), "10.0.1.0");
}

TEST(Lifecycle, PoolRemovalReleasesItsServices) {
  Allocator a;
  a.SetPools(Pools({Pool("keep", {"10.1.0.0/30"}), Pool("drop", {"10.2.0.0/30"})}));
  Request r = Req("ns/dropped");
  r.pool = "drop";
  MustAssign(a, r);
  Request kept = Req("ns/kept");
  kept.pool = "keep";
  MustAssign(a, kept);
  auto evicted = a.SetPools(Pools({Pool("keep", {"10.1.0.0/30"})}));
  EXPECT_EQ(evicted, std::vector<std::string>{"ns/dropped"});
  EXPECT_FALSE(a.Get("ns/dropped").has_value());
  EXPECT_TRUE(a.Get("ns/kept").has_value());
  EXPECT_FALSE(a.Usage("drop").has_value());
  EXPECT_TRUE(a.ServicesOn(Ip("10.2.0.0")).empty());
}

TEST(Lifecycle, RangeMovedToAnotherPoolFollowsWithoutEviction) {
  Allocator a;
  a.SetPools(Pools({Pool("old", {"10.1.0.0/30"})}));
  MustAssign(a, Req("ns/x"));
  auto evicted = a.SetPools(Pools({Pool("new", {"10.1.0.0/29"})}));
  EXPECT_TRUE(evicted.empty());
  EXPECT_EQ(a.Get("ns/x")->pool, "new");
  EXPECT_EQ(FirstIp(a, Req("ns/y")), "10.1.0.1");
}

TEST(Lifecycle, AutoAssignAndSelectorChangesDoNotEvict) {
  Allocator a;
  a.SetPools(Pools({Pool("p", {"10.1.0.0/30"}), Pool("q", {"10.2.0.0/30"})}));
  MustAssign(a, Req("shop/x"));
  IPAddressPool manual = Pool("p", {"10.1.0.0/30"});
  manual.auto_assign = false;
  manual.service_allocation = ServiceAllocation{};
  manual.service_allocation->namespaces = {"blog"};
  EXPECT_TRUE(a.SetPools(Pools({manual, Pool("q", {"10.2.0.0/30"})})).empty());
  EXPECT_EQ(a.Get("shop/x")->pool, "p");
  // autoAssign false alone keeps the Service where it is when it converges...
  IPAddressPool manual_only = Pool("p", {"10.1.0.0/30"});
  manual_only.auto_assign = false;
  a.SetPools(Pools({manual_only, Pool("q", {"10.2.0.0/30"})}));
  EXPECT_EQ(MustAssign(a, Req("shop/x")).pool, "p");
  // ...but a serviceAllocation that no longer selects it moves it (as MetalLB's re-check does).
  a.SetPools(Pools({manual, Pool("q", {"10.2.0.0/30"})}));
  EXPECT_EQ(MustAssign(a, Req("shop/x")).pool, "q");
}

TEST(Lifecycle, EnablingAvoidBuggyIPsEvictsDotZeroHolders) {
  Allocator a;
  a.SetPools(Pools({Pool("p", {"10.0.0.0/24"})}));
  MustAssign(a, Req("ns/zero"));
  MustAssign(a, Req("ns/one"));
  IPAddressPool careful = Pool("p", {"10.0.0.0/24"});
  careful.avoid_buggy_ips = true;
  EXPECT_EQ(a.SetPools(Pools({careful})), std::vector<std::string>{"ns/zero"});
  EXPECT_EQ(FirstIp(a, Req("ns/zero")), "10.0.0.2");
}

TEST(Lifecycle, UsageCountsAddressesAndServices) {
  Allocator a;
  IPAddressPool p = Pool("p", {"10.0.0.0/24", "2001:db8::/120"});
  p.avoid_buggy_ips = true;
  a.SetPools(Pools({p}));
  MustAssign(a, Req("ns/a"));
  MustAssign(a, Req("ns/b", {Family::kV6}));
  auto u = *a.Usage("p");
  EXPECT_EQ(u.size_v4, 254u);
  EXPECT_EQ(u.size_v6, 256u);
  EXPECT_EQ(u.size, 510u);
  EXPECT_EQ(u.assigned_v4, 1u);
  EXPECT_EQ(u.assigned_v6, 1u);
  EXPECT_EQ(u.assigned_ips, 2u);
  EXPECT_EQ(u.services, 2u);
  a.Release("ns/a");
  EXPECT_EQ(a.AllUsage().at("p").assigned_v4, 0u);
  EXPECT_EQ(a.AllUsage().at("p").services, 1u);
}

}  // namespace
}  // namespace ironlb::alloc
