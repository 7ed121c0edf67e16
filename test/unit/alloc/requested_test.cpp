// Requested addresses (loadBalancerIPs / spec.loadBalancerIP) with and without a named pool.
#include <gtest/gtest.h>

#include "alloc_fixtures.h"

namespace ironlb::alloc {
namespace {

using namespace testing;

Request Wanting(const std::string& key, std::vector<std::string> ips) {
  std::vector<Family> fams;
  Request r = Req(key, {});
  for (const auto& s : ips) {
    r.requested.push_back(Ip(s));
    fams.push_back(r.requested.back().family());
  }
  r.families = fams;
  return r;
}

class Requested : public ::testing::Test {
 protected:
  void SetUp() override {
    IPAddressPool team = Pool("team", {"10.7.0.0/30"});
    team.service_allocation = ServiceAllocation{};
    team.service_allocation->namespaces = {"team-a"};
    a.SetPools(Pools({Pool("blue", {"10.1.0.0/24", "2001:db8:1::/120"}),
                      Pool("green", {"10.2.0.0/24", "2001:db8:2::/120"}), team}));
  }
  Allocator a;
};

TEST_F(Requested, FreeAddressIsGranted) {
  auto as = MustAssign(a, Wanting("ns/a", {"10.2.0.77"}));
  EXPECT_EQ(as.pool, "green");
  EXPECT_EQ(Strs(as.ips), std::vector<std::string>{"10.2.0.77"});
  // And it is no longer handed out automatically; the pool's first free stays .0.
  Request auto_green = Req("ns/b");
  auto_green.pool = "green";
  EXPECT_EQ(FirstIp(a, auto_green), "10.2.0.0");
}

TEST_F(Requested, TakenAddressIsRefusedNamingTheHolder) {
  MustAssign(a, Wanting("ns/a", {"10.1.0.5"}));
  const std::string why = MustRefuse(a, Wanting("ns/b", {"10.1.0.5"}));
  EXPECT_NE(why.find("ns/a"), std::string::npos) << why;
  EXPECT_NE(why.find("does not allow sharing"), std::string::npos) << why;
}

TEST_F(Requested, AddressOutsideEveryPoolIsRefused) {
  const std::string why = MustRefuse(a, Wanting("ns/a", {"192.0.2.1"}));
  EXPECT_NE(why.find("not in any IPAddressPool"), std::string::npos) << why;
}

TEST_F(Requested, AddressInAnotherPoolThanTheNamedOneIsRefused) {
  Request r = Wanting("ns/a", {"10.1.0.5"});
  r.pool = "green";
  const std::string why = MustRefuse(a, r);
  EXPECT_NE(why.find("\"blue\""), std::string::npos) << why;
  EXPECT_NE(why.find("\"green\""), std::string::npos) << why;
  r.pool = "blue";
  EXPECT_EQ(MustAssign(a, r).pool, "blue");
}

TEST_F(Requested, PoolWhoseServiceAllocationExcludesTheServiceIsRefused) {
  EXPECT_NE(MustRefuse(a, Wanting("team-b/x", {"10.7.0.1"})).find("serviceAllocation"),
            std::string::npos);
  EXPECT_EQ(MustAssign(a, Wanting("team-a/x", {"10.7.0.1"})).pool, "team");
}

TEST_F(Requested, DualStackPairMustComeFromOnePool) {
  auto as = MustAssign(a, Wanting("ns/a", {"10.1.0.9", "2001:db8:1::9"}));
  EXPECT_EQ(as.pool, "blue");
  EXPECT_EQ(Strs(as.ips), (std::vector<std::string>{"10.1.0.9", "2001:db8:1::9"}));
  const std::string why = MustRefuse(a, Wanting("ns/b", {"10.1.0.10", "2001:db8:2::10"}));
  EXPECT_NE(why.find("not in one IPAddressPool"), std::string::npos) << why;
}

TEST_F(Requested, ChangingTheRequestedAddressMovesTheService) {
  MustAssign(a, Wanting("ns/a", {"10.1.0.5"}));
  auto as = MustAssign(a, Wanting("ns/a", {"10.1.0.6"}));
  EXPECT_EQ(Strs(as.ips), std::vector<std::string>{"10.1.0.6"});
  EXPECT_TRUE(a.ServicesOn(Ip("10.1.0.5")).empty());
}

TEST_F(Requested, ChangingTheNamedPoolMovesTheService) {
  Request r = Req("ns/a");
  r.pool = "blue";
  EXPECT_EQ(MustAssign(a, r).pool, "blue");
  r.pool = "green";
  auto as = MustAssign(a, r);
  EXPECT_EQ(as.pool, "green");
  EXPECT_EQ(Strs(as.ips), std::vector<std::string>{"10.2.0.0"});
}

}  // namespace
}  // namespace ironlb::alloc
