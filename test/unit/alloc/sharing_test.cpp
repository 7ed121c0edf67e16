// allow-shared-ip: one address for several Services when MetalLB's rules allow it.
#include <gtest/gtest.h>

#include "alloc_fixtures.h"

namespace ironlb::alloc {
namespace {

using namespace testing;

const PortProto kHttp{"TCP", 80};
const PortProto kHttps{"TCP", 443};
const PortProto kDnsTcp{"TCP", 53};
const PortProto kDnsUdp{"UDP", 53};

class Sharing : public ::testing::Test {
 protected:
  void SetUp() override { a.SetPools(Pools({Pool("p", {"10.0.0.0/29"})})); }
  Allocator a;
};

TEST_F(Sharing, SameKeyDisjointPortsShareAutomatically) {
  EXPECT_EQ(FirstIp(a, Shared("ns/web", "k", {kHttp})), "10.0.0.0");
  EXPECT_EQ(FirstIp(a, Shared("ns/tls", "k", {kHttps})), "10.0.0.0");
  EXPECT_EQ(a.ServicesOn(Ip("10.0.0.0")), (std::vector<std::string>{"ns/tls", "ns/web"}));
  EXPECT_EQ(a.Usage("p")->assigned_ips, 1u);
  EXPECT_EQ(a.Usage("p")->services, 2u);
  // A Service without a key does not get the shared address.
  EXPECT_EQ(FirstIp(a, Req("ns/plain")), "10.0.0.1");
}

TEST_F(Sharing, SamePortDifferentProtocolIsFine) {
  Request tcp = Shared("ns/dns-tcp", "dns", {kDnsTcp});
  tcp.requested = {Ip("10.0.0.5")};
  Request udp = Shared("ns/dns-udp", "dns", {kDnsUdp});
  udp.requested = {Ip("10.0.0.5")};
  MustAssign(a, tcp);
  EXPECT_EQ(FirstIp(a, udp), "10.0.0.5");
}

TEST_F(Sharing, OverlappingPortIsRefusedForRequestedAddress) {
  Request one = Shared("ns/one", "k", {kHttp});
  one.requested = {Ip("10.0.0.5")};
  Request two = Shared("ns/two", "k", {kHttp, kHttps});
  two.requested = {Ip("10.0.0.5")};
  MustAssign(a, one);
  const std::string why = MustRefuse(a, two);
  EXPECT_NE(why.find("port TCP/80"), std::string::npos) << why;
  EXPECT_NE(why.find("ns/one"), std::string::npos) << why;
}

TEST_F(Sharing, OverlappingPortMovesAutoAllocationToTheNextAddress) {
  EXPECT_EQ(FirstIp(a, Shared("ns/one", "k", {kHttp})), "10.0.0.0");
  EXPECT_EQ(FirstIp(a, Shared("ns/two", "k", {kHttp})), "10.0.0.1");
  EXPECT_EQ(FirstIp(a, Shared("ns/three", "k", {kHttps})), "10.0.0.0");
}

TEST_F(Sharing, DifferentKeysAreRefused) {
  Request one = Shared("ns/one", "k1", {kHttp});
  one.requested = {Ip("10.0.0.5")};
  Request two = Shared("ns/two", "k2", {kHttps});
  two.requested = {Ip("10.0.0.5")};
  MustAssign(a, one);
  EXPECT_NE(MustRefuse(a, two).find("allow-shared-ip \"k1\", not \"k2\""), std::string::npos);
  // Auto-allocation with k2 does not land on k1's address either.
  two.requested.clear();
  EXPECT_EQ(FirstIp(a, two), "10.0.0.0");
}

TEST_F(Sharing, KeylessHolderOrKeylessNewcomerIsRefused) {
  Request keyless = Req("ns/keyless");
  keyless.requested = {Ip("10.0.0.5")};
  MustAssign(a, keyless);
  Request keyed = Shared("ns/keyed", "k", {kHttps});
  keyed.requested = {Ip("10.0.0.5")};
  EXPECT_NE(MustRefuse(a, keyed).find("does not allow sharing"), std::string::npos);

  Request keyed2 = Shared("ns/keyed2", "k", {kHttps});
  keyed2.requested = {Ip("10.0.0.6")};
  MustAssign(a, keyed2);
  Request keyless2 = Req("ns/keyless2");
  keyless2.requested = {Ip("10.0.0.6")};
  EXPECT_NE(MustRefuse(a, keyless2).find("sets no allow-shared-ip"), std::string::npos);
}

TEST_F(Sharing, ClusterAndLocalPoliciesDoNotShare) {
  Request cluster = Shared("ns/cluster", "k", {kHttp});
  cluster.requested = {Ip("10.0.0.5")};
  Request local = Shared("ns/local", "k", {kHttps});
  local.requested = {Ip("10.0.0.5")};
  local.etp_local = true;
  local.selector = {{"app", "web"}};
  MustAssign(a, cluster);
  EXPECT_NE(MustRefuse(a, local).find("externalTrafficPolicy"), std::string::npos);
}

TEST_F(Sharing, LocalPolicyNeedsTheSameSelector) {
  Request one = Shared("ns/one", "k", {kHttp});
  one.requested = {Ip("10.0.0.5")};
  one.etp_local = true;
  one.selector = {{"app", "web"}};
  Request other = one;
  other.key = "ns/other";
  other.ports = {kHttps};
  other.selector = {{"app", "api"}};
  Request same = other;
  same.key = "ns/same";
  same.selector = {{"app", "web"}};
  MustAssign(a, one);
  EXPECT_NE(MustRefuse(a, other).find("selector"), std::string::npos);
  EXPECT_EQ(FirstIp(a, same), "10.0.0.5");
}

TEST_F(Sharing, AddressStaysWhileAnySharerRemains) {
  MustAssign(a, Shared("ns/one", "k", {kHttp}));
  MustAssign(a, Shared("ns/two", "k", {kHttps}));
  a.Release("ns/one");
  EXPECT_EQ(a.ServicesOn(Ip("10.0.0.0")), std::vector<std::string>{"ns/two"});
  EXPECT_EQ(FirstIp(a, Req("ns/plain")), "10.0.0.1");
  a.Release("ns/two");
  EXPECT_EQ(FirstIp(a, Req("ns/plain2")), "10.0.0.0");
}

TEST_F(Sharing, SoleUserMayChangeItsKeyButNotWhileSharing) {
  MustAssign(a, Shared("ns/one", "k", {kHttp}));
  EXPECT_EQ(FirstIp(a, Shared("ns/one", "k-new", {kHttp})), "10.0.0.0");
  MustAssign(a, Shared("ns/two", "k-new", {kHttps}));
  // ns/one changes key again: it can no longer share with ns/two, so it moves.
  EXPECT_EQ(FirstIp(a, Shared("ns/one", "k-other", {kHttp})), "10.0.0.1");
  EXPECT_EQ(a.ServicesOn(Ip("10.0.0.0")), std::vector<std::string>{"ns/two"});
}

TEST_F(Sharing, PortChangeThatCollidesMovesTheService) {
  MustAssign(a, Shared("ns/one", "k", {kHttp}));
  MustAssign(a, Shared("ns/two", "k", {kHttps}));
  EXPECT_EQ(FirstIp(a, Shared("ns/two", "k", {kHttps, kDnsUdp})), "10.0.0.0");  // still fits
  EXPECT_EQ(FirstIp(a, Shared("ns/two", "k", {kHttp})), "10.0.0.1");  // collides with ns/one
}

}  // namespace
}  // namespace ironlb::alloc
