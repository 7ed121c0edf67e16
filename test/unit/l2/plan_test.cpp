// ComputePlan: which nodes are eligible for each L2-announced VIP (MetalLB's rules) and on which
// interfaces this node answers.
#include "l2/plan.h"

#include <gtest/gtest.h>

namespace ironlb::l2 {
namespace {

using Names = std::vector<std::string>;

Service LbService(const std::string& name, const std::string& vip) {
  Service s;
  s.meta.ns = "default";
  s.meta.name = name;
  s.type = "LoadBalancer";
  s.ports = {{"http", "TCP", 80, "8080", 0}};
  s.ingress.push_back({IPAddr::Parse(vip), "", ""});
  return s;
}

Config PoolWithL2(const std::vector<LabelSelector>& node_selectors = {}) {
  Config cfg;
  IPAddressPool pool;
  pool.meta.name = "pool";
  pool.meta.labels["tier"] = "web";
  pool.ranges = {{*IPAddr::Parse("198.51.100.0"), *IPAddr::Parse("198.51.100.255")}};
  cfg.pools["pool"] = pool;
  L2Advertisement ad;
  ad.meta.name = "l2";
  ad.ip_address_pools = {"pool"};
  ad.node_selectors = node_selectors;
  cfg.l2_advertisements["l2"] = ad;
  return cfg;
}

Node MakeNode(const std::string& name, const std::string& addr = "") {
  Node n;
  n.meta.name = name;
  n.meta.labels["kubernetes.io/hostname"] = name;
  if (!addr.empty()) n.addresses = {{"Hostname", name}, {"InternalIP", addr}};
  return n;
}

Plan P(const Snapshot& snap, const Config& cfg, const std::string& self) {
  return ComputePlan(Model(cfg, snap), self);
}

TEST(Plan, EveryNodeTheAdvertisementSelects) {
  Snapshot snap;
  snap.services = {LbService("web", "198.51.100.10"), LbService("other", "203.0.113.5")};
  snap.nodes = {MakeNode("node-a", "192.0.2.1"), MakeNode("node-b", "192.0.2.2")};
  const Plan p = P(snap, PoolWithL2(), "node-a");
  ASSERT_EQ(p.vips.size(), 1u) << "only the VIP inside an L2-advertised pool";
  EXPECT_EQ(p.vips[0].eligible, (Names{"node-a", "node-b"}));
  EXPECT_TRUE(p.vips[0].interfaces.empty()) << "no interfaces named: all";
  ASSERT_EQ(p.peers.size(), 1u) << "ourselves excluded";
  EXPECT_EQ(p.peers.at("node-b"), std::vector<IPAddr>{*IPAddr::Parse("192.0.2.2")});
}

TEST(Plan, StandaloneWithoutNodeObjects) {
  Snapshot snap;
  snap.services = {LbService("web", "198.51.100.10")};
  const Plan p = P(snap, PoolWithL2(), "solo");
  ASSERT_EQ(p.vips.size(), 1u);
  EXPECT_EQ(p.vips[0].eligible, Names{"solo"});
  EXPECT_TRUE(p.peers.empty());
}

TEST(Plan, NodeSelectorsAndExcludedNodes) {
  Snapshot snap;
  snap.services = {LbService("web", "198.51.100.10")};
  snap.nodes = {MakeNode("node-a"), MakeNode("node-b"), MakeNode("node-c")};
  snap.nodes[2].meta.labels["node.kubernetes.io/exclude-from-external-load-balancers"] = "";
  LabelSelector not_a;
  not_a.match_expressions.push_back(
      {"kubernetes.io/hostname", LabelRequirement::Op::kNotIn, {"node-a"}});
  EXPECT_EQ(P(snap, PoolWithL2({not_a}), "node-a").vips[0].eligible, Names{"node-b"});
  snap.nodes[1].network_unavailable = true;
  EXPECT_TRUE(P(snap, PoolWithL2({not_a}), "node-a").vips[0].eligible.empty());
}

TEST(Plan, PoolSelectorsPickTheAdvertisement) {
  Snapshot snap;
  snap.services = {LbService("web", "198.51.100.10")};
  Config cfg = PoolWithL2();
  cfg.l2_advertisements["l2"].ip_address_pools = {"elsewhere"};
  EXPECT_TRUE(P(snap, cfg, "n").vips.empty()) << "the advertisement names another pool";
  LabelSelector web;
  web.match_labels["tier"] = "web";
  cfg.l2_advertisements["l2"].ip_address_pool_selectors = {web};
  EXPECT_EQ(P(snap, cfg, "n").vips.size(), 1u) << "but selects this one by label";
}

TEST(Plan, ExternalTrafficPolicyLocalNeedsAReadyLocalEndpoint) {
  Snapshot snap;
  snap.services = {LbService("web", "198.51.100.10")};
  snap.services[0].external_traffic_policy = "Local";
  snap.nodes = {MakeNode("node-a"), MakeNode("node-b"), MakeNode("node-c")};
  EndpointSlice s;
  s.meta.ns = "default";
  s.meta.name = "web-1";
  s.meta.labels["kubernetes.io/service-name"] = "web";
  s.address_type = "IPv4";
  Endpoint on_b{{"10.1.0.5"}, {}, "node-b", {}, {}};
  Endpoint on_c{{"10.1.0.6"}, {false, std::nullopt, std::nullopt}, "node-c", {}, {}};
  s.endpoints = {on_b, on_c};
  snap.endpoint_slices = {s};
  EXPECT_EQ(P(snap, PoolWithL2(), "node-a").vips[0].eligible, Names{"node-b"});
  snap.endpoint_slices[0].endpoints[0].conditions.terminating = true;
  EXPECT_TRUE(P(snap, PoolWithL2(), "node-a").vips[0].eligible.empty())
      << "a terminating endpoint does not keep the VIP";
}

TEST(Plan, InterfacesFromTheAdvertisementsSelectingThisNode) {
  Snapshot snap;
  snap.services = {LbService("web", "198.51.100.10")};
  Config cfg = PoolWithL2();
  cfg.l2_advertisements["l2"].interfaces = {"eth1", "eth0"};
  EXPECT_EQ(P(snap, cfg, "solo").vips[0].interfaces, (Names{"eth0", "eth1"}));
  L2Advertisement all;
  all.meta.name = "all";
  all.ip_address_pools = {"pool"};
  cfg.l2_advertisements["all"] = all;
  EXPECT_TRUE(P(snap, cfg, "solo").vips[0].interfaces.empty()) << "one says all interfaces";
}

TEST(Plan, ASharedVipIsOneEntryForBothServices) {
  Snapshot snap;
  snap.services = {LbService("web", "198.51.100.10"), LbService("dns", "198.51.100.10")};
  const Plan p = P(snap, PoolWithL2(), "solo");
  ASSERT_EQ(p.vips.size(), 1u);
  EXPECT_EQ(p.vips[0].services.size(), 2u);
}

}  // namespace
}  // namespace ironlb::l2
