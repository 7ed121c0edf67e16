// Dual-stack Services (Require vs Prefer) and IPv6 pools.
#include <gtest/gtest.h>

#include "alloc_fixtures.h"

namespace ironlb::alloc {
namespace {

using namespace testing;

const std::vector<Family> kV4V6{Family::kV4, Family::kV6};
const std::vector<Family> kV6V4{Family::kV6, Family::kV4};

Request Require(const std::string& key, std::vector<Family> fams = kV4V6) {
  Request r = Req(key, std::move(fams));
  r.require_all_families = true;
  return r;
}

Request Prefer(const std::string& key, std::vector<Family> fams = kV4V6) {
  Request r = Req(key, std::move(fams));
  r.require_all_families = false;
  return r;
}

TEST(DualStack, RequireGetsOneOfEachInFamilyOrder) {
  Allocator a;
  a.SetPools(Pools({Pool("p", {"2001:db8::/120", "10.0.0.0/24"})}));
  EXPECT_EQ(Strs(MustAssign(a, Require("ns/a")).ips),
            (std::vector<std::string>{"10.0.0.0", "2001:db8::"}));
  EXPECT_EQ(Strs(MustAssign(a, Require("ns/b", kV6V4)).ips),
            (std::vector<std::string>{"2001:db8::1", "10.0.0.1"}));
}

TEST(DualStack, RequireFailsWhenOnlyOneFamilyIsAvailable) {
  Allocator a;
  a.SetPools(Pools({Pool("v4", {"10.0.0.0/24"}), Pool("v6", {"2001:db8::/120"})}));
  const std::string why = MustRefuse(a, Require("ns/a"));
  EXPECT_NE(why.find("RequireDualStack"), std::string::npos) << why;
  EXPECT_NE(why.find("pool \"v4\": no IPv6 range"), std::string::npos) << why;
}

TEST(DualStack, PreferTakesWhatIsThereAndLaterAddsTheMissingFamily) {
  Allocator a;
  a.SetPools(Pools({Pool("p", {"10.0.0.0/24"})}));
  EXPECT_EQ(Strs(MustAssign(a, Prefer("ns/a")).ips), std::vector<std::string>{"10.0.0.0"});
  a.SetPools(Pools({Pool("p", {"10.0.0.0/24", "2001:db8::/120"})}));
  EXPECT_EQ(Strs(MustAssign(a, Prefer("ns/a")).ips),
            (std::vector<std::string>{"10.0.0.0", "2001:db8::"}));
}

TEST(DualStack, PreferWithOnlySecondaryFamilyAvailable) {
  Allocator a;
  a.SetPools(Pools({Pool("p", {"2001:db8::/127"})}));
  EXPECT_EQ(Strs(MustAssign(a, Prefer("ns/a")).ips), std::vector<std::string>{"2001:db8::"});
}

TEST(DualStack, PreferChoosesAPoolWithBothOverAnEarlierSingleFamilyPool) {
  Allocator a;
  a.SetPools(
      Pools({Pool("a-v4", {"10.1.0.0/24"}), Pool("b-dual", {"10.2.0.0/24", "2001:db8::/120"})}));
  EXPECT_EQ(MustAssign(a, Prefer("ns/x")).pool, "b-dual");
  // With the dual pool out of IPv6, the first pool with the primary family wins.
  a.SetPools(Pools({Pool("a-v4", {"10.1.0.0/24"}), Pool("b-dual", {"10.2.0.0/24"}),
                    Pool("c-v6", {"2001:db8:c::/120"})}));
  EXPECT_EQ(MustAssign(a, Prefer("ns/y")).pool, "a-v4");
  EXPECT_EQ(MustAssign(a, Prefer("ns/z", kV6V4)).pool, "c-v6");
}

TEST(DualStack, SingleStackIPv6FromA112) {
  Allocator a;
  a.SetPools(Pools({Pool("v6", {"2001:db8:0:1::/112"})}));
  EXPECT_EQ(FirstIp(a, Req("ns/a", {Family::kV6})), "2001:db8:0:1::");
  EXPECT_EQ(FirstIp(a, Req("ns/b", {Family::kV6})), "2001:db8:0:1::1");
  EXPECT_EQ(a.Usage("v6")->size_v6, 65536u);
  const std::string why = MustRefuse(a, Req("ns/c", {Family::kV4}));
  EXPECT_NE(why.find("no IPv4 range"), std::string::npos) << why;
}

TEST(DualStack, IPv6RangeExhaustion) {
  Allocator a;
  a.SetPools(Pools({Pool("v6", {"2001:db8::ffff-2001:db8::1:0"})}));
  EXPECT_EQ(FirstIp(a, Req("ns/a", {Family::kV6})), "2001:db8::ffff");
  EXPECT_EQ(FirstIp(a, Req("ns/b", {Family::kV6})), "2001:db8::1:0");
  MustRefuse(a, Req("ns/c", {Family::kV6}));
}

TEST(DualStack, SharingKeySharesBothFamilies) {
  Allocator a;
  a.SetPools(Pools({Pool("p", {"10.0.0.0/24", "2001:db8::/120"})}));
  Request web = Require("ns/web");
  web.sharing_key = "k";
  web.ports = {{"TCP", 80}};
  Request tls = Require("ns/tls");
  tls.sharing_key = "k";
  tls.ports = {{"TCP", 443}};
  const auto first = MustAssign(a, web);
  EXPECT_EQ(MustAssign(a, tls).ips, first.ips);
  EXPECT_EQ(a.Usage("p")->assigned_ips, 2u);
}

TEST(DualStack, FamilyChangeReassigns) {
  Allocator a;
  a.SetPools(Pools({Pool("p", {"10.0.0.0/24", "2001:db8::/120"})}));
  MustAssign(a, Req("ns/a"));
  EXPECT_EQ(Strs(MustAssign(a, Req("ns/a", {Family::kV6})).ips),
            std::vector<std::string>{"2001:db8::"});
  EXPECT_TRUE(a.ServicesOn(Ip("10.0.0.0")).empty());
}

}  // namespace
}  // namespace ironlb::alloc
