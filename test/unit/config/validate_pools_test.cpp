#include "validate_test_util.h"

namespace ironlb::config::testing {
namespace {

IPRange R(const char* a, const char* b) {
  return IPRange{*IPAddr::Parse(a), *IPAddr::Parse(b)};
}

TEST(ValidatePools, FillsRangesAsMetalLBParsesAddresses) {
  Result r = Check(
      Pool("p", "['198.51.100.10/24', '10.0.0.5 - 10.0.0.9', '10.0.1.1-fc00::1', 'fc00::/126']"));
  ASSERT_TRUE(r.state.valid()) << r.Errors();
  const auto& ranges = r.config.pools.at("p").ranges;
  // Host bits allowed, range ends trimmed, a mixed-family range is empty (as in MetalLB).
  ASSERT_EQ(ranges.size(), 3u);
  EXPECT_EQ(ranges[0], R("198.51.100.0", "198.51.100.255"));
  EXPECT_EQ(ranges[1], R("10.0.0.5", "10.0.0.9"));
  EXPECT_EQ(ranges[2], R("fc00::", "fc00::3"));
}

TEST(ValidatePools, MalformedAddresses) {
  struct Case {
    const char* addresses;
    const char* field;
  } cases[] = {
      {"[' 10.0.0.0/8']", "spec.addresses[0]"},  // CIDRs are not trimmed
      {"['10.0.0.0/33']", "spec.addresses[0]"},
      {"['10.0.0.0/24', '10.1.0.1-10.1.0.x']", "spec.addresses[1]"},
      {"['10.0.0.9-10.0.0.1']", "spec.addresses[0]"},  // start after end
      {"['fc00::1-10.0.0.1']", "spec.addresses[0]"},   // start after end across families
      {"[]", "spec.addresses"},
      {"['10.0.0.0/24', '10.0.0.100-10.0.0.110']", "spec.addresses[1]"},  // overlap inside
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.addresses);
    Result r = Check(Pool("p", c.addresses));
    EXPECT_TRUE(r.Has("IPAddressPool", "p", c.field)) << r.Errors();
    EXPECT_TRUE(r.config.pools.empty());
  }
}

TEST(ValidatePools, OverlapRejectsTheLaterPoolOnly) {
  Result r = Check(Pool("b", "['10.0.0.0/16']") + Pool("a", "['10.0.0.0/8']") +
                   Pool("c", "['192.168.0.0/24']"));
  EXPECT_TRUE(r.Has("IPAddressPool", "b", "spec.addresses[0]")) << r.Errors();
  EXPECT_EQ(r.state.errors.size(), 1u) << r.Errors();
  EXPECT_TRUE(r.config.pools.count("a"));
  EXPECT_TRUE(r.config.pools.count("c"));
  EXPECT_FALSE(r.config.pools.count("b"));
}

TEST(ValidatePools, PreviouslyValidPoolWinsAnOverlap) {
  Result before = Check(Pool("z-old", "['10.0.0.0/24']"));
  ASSERT_TRUE(before.state.valid());
  Result r =
      Check(Pool("a-new", "['10.0.0.128/25']") + Pool("z-old", "['10.0.0.0/24']"), before.config);
  EXPECT_TRUE(r.Has("IPAddressPool", "a-new", "spec.addresses[0]")) << r.Errors();
  EXPECT_TRUE(r.config.pools.count("z-old"));
  EXPECT_FALSE(r.config.pools.count("a-new"));
}

TEST(ValidatePools, DuplicateNameKeepsOne) {
  Result r = Check(Pool("p", "['10.1.0.0/16']") + Pool("p", "['10.3.0.0/16']"));
  EXPECT_TRUE(r.Has("IPAddressPool", "p", "metadata.name")) << r.Errors();
  ASSERT_TRUE(r.config.pools.count("p"));
  EXPECT_EQ(r.config.pools.at("p").addresses[0], "10.1.0.0/16");
  // The copy equal to the version in force wins, whatever the order.
  Result again = Check(Pool("p", "['10.3.0.0/16']") + Pool("p", "['10.1.0.0/16']"), r.config);
  EXPECT_EQ(again.config.pools.at("p").addresses[0], "10.1.0.0/16");
}

TEST(ValidatePools, ServiceAllocation) {
  Result dup = Check(Pool("p", "['10.0.0.0/24']", "serviceAllocation: {namespaces: [a, a]}"));
  EXPECT_TRUE(dup.Has("IPAddressPool", "p", "spec.serviceAllocation.namespaces[1]"))
      << dup.Errors();
  Result sel = Check(Pool(
      "p", "['10.0.0.0/24']",
      "serviceAllocation: {serviceSelectors: [{matchExpressions: [{key: a, operator: In}]}]}"));
  EXPECT_TRUE(sel.Has("IPAddressPool", "p",
                      "spec.serviceAllocation.serviceSelectors[0].matchExpressions[0].values"))
      << sel.Errors();
  Result key =
      Check(Pool("p", "['10.0.0.0/24']",
                 "serviceAllocation: {namespaceSelectors: [{matchLabels: {'bad key!': x}}]}"));
  EXPECT_FALSE(key.state.valid());
  Result dupsel = Check(Pool(
      "p", "['10.0.0.0/24']",
      "serviceAllocation: {namespaceSelectors: [{matchLabels: {a: b}}, {matchLabels: {a: b}}]}"));
  EXPECT_TRUE(dupsel.Has("IPAddressPool", "p", "spec.serviceAllocation.namespaceSelectors[1]"))
      << dupsel.Errors();
}

TEST(ValidatePools, ClusterModeRequiresTheMetalLBNamespace) {
  const std::string yaml =
      "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p, namespace: "
      "default}\n"
      "spec: {addresses: ['10.0.0.0/24']}\n";
  EXPECT_TRUE(Check(yaml).state.valid());
  Result r = Check(yaml, {}, ValidateOptions{"metallb-system"});
  EXPECT_TRUE(r.Has("IPAddressPool", "p", "metadata.namespace")) << r.Errors();
  EXPECT_TRUE(r.config.pools.empty());
  EXPECT_TRUE(
      Check(Pool("q", "['10.0.0.0/24']"), {}, ValidateOptions{"metallb-system"}).state.valid());
}

// Editing a pool into an invalid one keeps the previous version in force, and says so.
TEST(KeepLastValid, InvalidEditKeepsPreviousVersion) {
  Result v1 = Check(Pool("p", "['10.0.0.0/24']") + Pool("q", "['10.9.0.0/24']"));
  ASSERT_TRUE(v1.state.valid()) << v1.Errors();

  Result bad = Check(Pool("p", "['10.0.0.0/33']") + Pool("q", "['10.9.0.0/24']"), v1.config);
  EXPECT_TRUE(bad.Has("IPAddressPool", "p", "spec.addresses[0]")) << bad.Errors();
  ASSERT_TRUE(bad.config.pools.count("p"));
  EXPECT_EQ(bad.config.pools.at("p").addresses[0], "10.0.0.0/24");
  EXPECT_EQ(bad.config.pools.at("p").ranges.size(), 1u);
  EXPECT_NE(bad.state.errors[0].message.find("previous version"), std::string::npos);
  EXPECT_TRUE(bad.config.pools.count("q"));

  Result fixed = Check(Pool("p", "['10.0.1.0/24']") + Pool("q", "['10.9.0.0/24']"), bad.config);
  EXPECT_TRUE(fixed.state.valid()) << fixed.Errors();
  EXPECT_EQ(fixed.config.pools.at("p").addresses[0], "10.0.1.0/24");
}

TEST(KeepLastValid, NewInvalidObjectIsLeftOut) {
  Result r = Check(Pool("good", "['10.0.0.0/24']") + Pool("bad", "['nope']"));
  EXPECT_TRUE(r.config.pools.count("good"));
  EXPECT_FALSE(r.config.pools.count("bad"));
  EXPECT_EQ(r.state.errors.size(), 1u);
}

TEST(KeepLastValid, UndecodableEditKeepsPreviousVersion) {
  Result v1 = Check(Pool("p", "['10.0.0.0/24']"));
  Result r = Check(Pool("p", "['10.0.0.0/24']", "autoAsign: false"), v1.config);
  EXPECT_TRUE(r.Has("IPAddressPool", "p", "spec.autoAsign")) << r.Errors();
  EXPECT_TRUE(r.config.pools.count("p"));
}

TEST(KeepLastValid, DeletedObjectGoes) {
  Result v1 = Check(Pool("p", "['10.0.0.0/24']"));
  Result r = Check("", v1.config);
  EXPECT_TRUE(r.config.pools.empty());
  EXPECT_TRUE(r.state.valid());
}

// An edit that would overlap another pool is refused; the old range stays.
TEST(KeepLastValid, ConflictingEditFallsBackToPreviousVersion) {
  Result v1 = Check(Pool("a", "['10.0.0.0/24']") + Pool("b", "['10.0.1.0/24']"));
  Result r = Check(Pool("a", "['10.0.0.0/24']") + Pool("b", "['10.0.0.0/23']"), v1.config);
  EXPECT_TRUE(r.Has("IPAddressPool", "b", "spec.addresses[0]")) << r.Errors();
  ASSERT_TRUE(r.config.pools.count("b"));
  EXPECT_EQ(r.config.pools.at("b").addresses[0], "10.0.1.0/24");
}

}  // namespace
}  // namespace ironlb::config::testing
