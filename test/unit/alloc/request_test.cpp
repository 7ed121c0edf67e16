#include "alloc/request.h"

#include <gtest/gtest.h>

namespace ironlb::alloc {
namespace {

Service Svc() {
  Service s;
  s.meta.ns = "shop";
  s.meta.name = "web";
  s.meta.source = "svc.yaml";
  s.type = "LoadBalancer";
  return s;
}

Request Ok(const Service& s, const Labels& ns_labels = {}) {
  auto r = RequestFromService(s, ns_labels);
  if (auto* e = std::get_if<ConfigError>(&r)) {
    ADD_FAILURE() << e->str();
    return {};
  }
  return std::get<Request>(r);
}

ConfigError Err(const Service& s) {
  auto r = RequestFromService(s, {});
  if (!std::holds_alternative<ConfigError>(r)) {
    ADD_FAILURE() << "expected a ConfigError";
    return {};
  }
  return std::get<ConfigError>(r);
}

TEST(RequestFamilies, DefaultIsIPv4SingleStack) {
  auto r = Ok(Svc());
  EXPECT_EQ(r.families, std::vector<Family>{Family::kV4});
  EXPECT_TRUE(r.require_all_families);
}

TEST(RequestFamilies, SingleStackTakesFirstListedFamily) {
  auto s = Svc();
  s.ip_family_policy = "SingleStack";
  s.ip_families = {"IPv6"};
  EXPECT_EQ(Ok(s).families, std::vector<Family>{Family::kV6});
}

TEST(RequestFamilies, UnsetPolicyWithTwoFamiliesRequiresBoth) {
  auto s = Svc();
  s.ip_families = {"IPv6", "IPv4"};
  auto r = Ok(s);
  EXPECT_EQ(r.families, (std::vector<Family>{Family::kV6, Family::kV4}));
  EXPECT_TRUE(r.require_all_families);
}

TEST(RequestFamilies, RequireDualStackWantsBothPrimaryFirst) {
  auto s = Svc();
  s.ip_family_policy = "RequireDualStack";
  s.ip_families = {"IPv6"};
  auto r = Ok(s);
  EXPECT_EQ(r.families, (std::vector<Family>{Family::kV6, Family::kV4}));
  EXPECT_TRUE(r.require_all_families);
}

TEST(RequestFamilies, PreferDualStackIsBestEffortForBoth) {
  auto s = Svc();
  s.ip_family_policy = "PreferDualStack";
  auto r = Ok(s);
  EXPECT_EQ(r.families, (std::vector<Family>{Family::kV4, Family::kV6}));
  EXPECT_FALSE(r.require_all_families);
}

TEST(RequestFamilies, PreferDualStackOnSingleStackClusterKeepsTheOneFamily) {
  auto s = Svc();
  s.ip_family_policy = "PreferDualStack";
  s.ip_families = {"IPv6"};
  EXPECT_EQ(Ok(s).families, std::vector<Family>{Family::kV6});
}

TEST(RequestFamilies, UnknownFamilyOrPolicyNamesTheField) {
  auto s = Svc();
  s.ip_families = {"IPv5"};
  auto e = Err(s);
  EXPECT_EQ(e.field, "spec.ipFamilies[0]");
  EXPECT_EQ(e.object.str(), "Service shop/web");
  EXPECT_EQ(e.file, "svc.yaml");

  s = Svc();
  s.ip_families = {"IPv4", "IPv4"};
  EXPECT_EQ(Err(s).field, "spec.ipFamilies[1]");

  s = Svc();
  s.ip_family_policy = "DualStackPlease";
  EXPECT_EQ(Err(s).field, "spec.ipFamilyPolicy");
}

TEST(RequestAddresses, AnnotationListIsSplitAndTrimmed) {
  auto s = Svc();
  s.ip_family_policy = "RequireDualStack";
  s.meta.annotations["metallb.io/loadBalancerIPs"] = "192.0.2.10, 2001:db8::10";
  auto r = Ok(s);
  ASSERT_EQ(r.requested.size(), 2u);
  EXPECT_EQ(r.requested[0].str(), "192.0.2.10");
  EXPECT_EQ(r.requested[1].str(), "2001:db8::10");
}

TEST(RequestAddresses, DeprecatedPrefixAndSpecFieldAreRead) {
  auto s = Svc();
  s.meta.annotations["metallb.universe.tf/loadBalancerIPs"] = "192.0.2.11";
  EXPECT_EQ(Ok(s).requested.at(0).str(), "192.0.2.11");
  s = Svc();
  s.load_balancer_ip = "192.0.2.12";
  EXPECT_EQ(Ok(s).requested.at(0).str(), "192.0.2.12");
}

TEST(RequestAddresses, AnnotationAndSpecTogetherIsAnError) {
  auto s = Svc();
  s.meta.annotations["metallb.universe.tf/loadBalancerIPs"] = "192.0.2.10";
  s.load_balancer_ip = "192.0.2.10";
  auto e = Err(s);
  EXPECT_EQ(e.field, "metadata.annotations[metallb.universe.tf/loadBalancerIPs]");
  EXPECT_NE(e.message.find("spec.loadBalancerIP"), std::string::npos) << e.message;
}

TEST(RequestAddresses, UnparsableAddressesNameTheirField) {
  auto s = Svc();
  s.meta.annotations["metallb.io/loadBalancerIPs"] = "192.0.2.10,not-an-ip";
  auto e = Err(s);
  EXPECT_EQ(e.field, "metadata.annotations[metallb.io/loadBalancerIPs]");
  EXPECT_NE(e.message.find("not-an-ip"), std::string::npos) << e.message;

  s = Svc();
  s.load_balancer_ip = "192.0.2.300";
  EXPECT_EQ(Err(s).field, "spec.loadBalancerIP");
}

TEST(RequestAddresses, FamiliesMustMatchTheService) {
  auto s = Svc();  // IPv4 single stack
  s.load_balancer_ip = "2001:db8::1";
  auto e = Err(s);
  EXPECT_EQ(e.field, "spec.loadBalancerIP");
  EXPECT_NE(e.message.find("IP families"), std::string::npos) << e.message;

  s = Svc();
  s.ip_family_policy = "RequireDualStack";
  s.meta.annotations["metallb.io/loadBalancerIPs"] = "192.0.2.1";
  EXPECT_EQ(Err(s).field, "metadata.annotations[metallb.io/loadBalancerIPs]");

  s = Svc();
  s.ip_family_policy = "RequireDualStack";
  s.meta.annotations["metallb.io/loadBalancerIPs"] = "192.0.2.1,192.0.2.2";
  EXPECT_NE(Err(s).message.find("same family"), std::string::npos);

  s = Svc();
  s.meta.annotations["metallb.io/loadBalancerIPs"] = "192.0.2.1,2001:db8::1,192.0.2.2";
  EXPECT_NE(Err(s).message.find("more than two"), std::string::npos);
}

TEST(RequestAddresses, PreferDualStackWithOneRequestedFamilyNarrowsToIt) {
  auto s = Svc();
  s.ip_family_policy = "PreferDualStack";
  s.meta.annotations["metallb.io/loadBalancerIPs"] = "2001:db8::7";
  auto r = Ok(s);
  EXPECT_EQ(r.families, std::vector<Family>{Family::kV6});
}

TEST(RequestFields, PoolSharingPortsPolicyAndClass) {
  auto s = Svc();
  s.meta.labels = {{"app", "web"}};
  s.meta.annotations["metallb.universe.tf/address-pool"] = "old";
  s.meta.annotations["metallb.io/address-pool"] = "gold";
  s.meta.annotations["metallb.universe.tf/allow-shared-ip"] = "k1";
  s.ports = {{"http", "TCP", 80, "8080", 0}, {"dns", "UDP", 53, "53", 0}};
  s.external_traffic_policy = "Local";
  s.selector = {{"app", "web"}};
  s.load_balancer_class = "other";
  auto r = Ok(s, {{"team", "a"}});
  EXPECT_EQ(r.key, "shop/web");
  EXPECT_EQ(r.ns, "shop");
  EXPECT_EQ(r.pool, "gold");  // the current prefix wins
  EXPECT_EQ(r.sharing_key, "k1");
  EXPECT_EQ(r.ports, (std::vector<PortProto>{{"TCP", 80}, {"UDP", 53}}));
  EXPECT_TRUE(r.etp_local);
  EXPECT_EQ(r.selector.at("app"), "web");
  EXPECT_EQ(r.service_labels.at("app"), "web");
  EXPECT_EQ(r.namespace_labels.at("team"), "a");
  EXPECT_EQ(r.lb_class, "other");
}

TEST(RequestFields, OnlyLoadBalancersOfOurClassAreOurs) {
  auto s = Svc();
  EXPECT_TRUE(IsOurLoadBalancer(s));
  s.load_balancer_class = "example.com/other";
  EXPECT_FALSE(IsOurLoadBalancer(s));
  EXPECT_TRUE(IsOurLoadBalancer(s, "example.com/other"));
  s = Svc();
  s.type = "NodePort";
  EXPECT_FALSE(IsOurLoadBalancer(s));
}

}  // namespace
}  // namespace ironlb::alloc
