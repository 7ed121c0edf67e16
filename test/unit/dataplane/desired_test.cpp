// ComputeDesired: which services and endpoints the model yields for a node (L2: test/unit/l2).
#include "dataplane/desired.h"

#include <gtest/gtest.h>

namespace ironlb::dataplane {
namespace {

// The model as the agent builds it for one pass, without controller decisions.
DesiredDataplane Desired(const Snapshot& snap, const Config& cfg, const std::string& node) {
  return ComputeDesired(Model(cfg, snap), node);
}

Service LbService(const std::string& name, const std::string& vip,
                  std::vector<ServicePort> ports = {{"http", "TCP", 80, "8080", 0}}) {
  Service s;
  s.meta.ns = "default";
  s.meta.name = name;
  s.type = "LoadBalancer";
  s.ports = std::move(ports);
  if (!vip.empty()) s.ingress.push_back({IPAddr::Parse(vip), "", ""});
  return s;
}

Endpoint Ep(const std::string& addr, std::optional<bool> ready = std::nullopt,
            std::optional<bool> terminating = std::nullopt) {
  Endpoint e;
  e.addresses = {addr};
  e.conditions.ready = ready;
  e.conditions.terminating = terminating;
  return e;
}

EndpointSlice Slice(const std::string& svc, std::vector<Endpoint> eps,
                    const std::string& type = "IPv4") {
  EndpointSlice s;
  s.meta.ns = "default";
  s.meta.name = svc + "-abc";
  s.meta.labels["kubernetes.io/service-name"] = svc;
  s.address_type = type;
  s.endpoints = std::move(eps);
  s.ports = {{"http", "TCP", 8080}};
  return s;
}

Node MakeNode(const std::string& name) {
  Node n;
  n.meta.name = name;
  n.meta.labels["kubernetes.io/hostname"] = name;
  return n;
}

TEST(ComputeDesired, ExternalTrafficPolicyLocalKeepsOnlyThisNodesEndpoints) {
  Snapshot snap;
  snap.services = {LbService("web", "198.51.100.10"), LbService("api", "198.51.100.11")};
  snap.services[0].external_traffic_policy = "Local";
  auto on = [](Endpoint e, const std::string& node) {
    e.node_name = node;
    return e;
  };
  snap.endpoint_slices = {
      Slice("web", {on(Ep("10.1.0.5"), "node-a"), on(Ep("10.2.0.5"), "node-b")}),
      Slice("api", {on(Ep("10.1.0.6"), "node-a"), on(Ep("10.2.0.6"), "node-b")})};
  auto d = Desired(snap, Config{}, "node-b");
  ASSERT_EQ(d.services.size(), 2u);
  ASSERT_EQ(d.services[0].key(), "198.51.100.10:80/TCP");
  ASSERT_EQ(d.services[0].backends.size(), 1u);
  EXPECT_EQ(d.services[0].backends[0].id(Proto::kTCP), "10.2.0.5:8080/TCP");
  EXPECT_EQ(d.services[1].backends.size(), 2u) << "Cluster policy keeps every endpoint";
  // A node without a local endpoint has the VIP with no backend: counted and dropped.
  auto c = Desired(snap, Config{}, "node-c");
  EXPECT_TRUE(c.services[0].backends.empty());
  EXPECT_TRUE(c.services[0].BuildTable().entries.empty());
}

// Endpoints on other nodes carry that node's address (InternalIP of the family first), so the
// flow is encapsulated there; without an own address, or for a node without one, they are routed.
TEST(ComputeDesired, EndpointsElsewhereAreReachedThroughTheirNode) {
  auto node = [](const std::string& name, std::vector<NodeAddress> addrs) {
    Node n = MakeNode(name);
    n.addresses = std::move(addrs);
    return n;
  };
  auto on = [](Endpoint e, const std::string& n) {
    e.node_name = n;
    return e;
  };
  Snapshot snap;
  snap.services = {LbService("web", "198.51.100.10")};
  snap.endpoint_slices = {Slice("web", {on(Ep("10.1.0.5"), "node-a"), on(Ep("10.2.0.5"), "node-b"),
                                        on(Ep("10.3.0.5"), "node-c"), Ep("10.4.0.5")})};
  snap.nodes = {node("node-a", {{"InternalIP", "192.0.2.21"}}),
                node("node-b", {{"ExternalIP", "203.0.113.22"},
                                {"InternalIP", "192.0.2.22"},
                                {"InternalIP", "2001:db8::22"}}),
                node("node-c", {{"InternalIP", "2001:db8::23"}})};
  auto d = Desired(snap, Config{}, "node-a");
  EXPECT_EQ(d.node_v4, IPAddr::Parse("192.0.2.21"));
  EXPECT_FALSE(d.node_v6);
  const auto& b = d.services.at(0).backends;
  ASSERT_EQ(b.size(), 4u);
  EXPECT_FALSE(b[0].tunnel) << "own endpoint";
  EXPECT_EQ(b[1].tunnel, IPAddr::Parse("192.0.2.22")) << "InternalIP before ExternalIP";
  EXPECT_FALSE(b[2].tunnel) << "node-c has no IPv4 address: routed";
  EXPECT_FALSE(b[3].tunnel) << "no nodeName: routed";
  snap.nodes.erase(snap.nodes.begin());
  auto alone = Desired(snap, Config{}, "node-a");
  EXPECT_FALSE(alone.services.at(0).backends[1].tunnel) << "no own address: nothing to send from";
}

TEST(ComputeDesired, ReadyEndpointsInTableTerminatingDrainedNotReadyExcluded) {
  Snapshot snap;
  snap.services = {LbService("web", "198.51.100.10")};
  snap.endpoint_slices = {Slice("web", {Ep("10.1.0.7"), Ep("10.1.0.5", true),
                                        Ep("10.1.0.6", false, true), Ep("10.1.0.8", false)})};
  auto d = Desired(snap, Config{}, "node-a");
  ASSERT_EQ(d.services.size(), 1u);
  const auto& s = d.services[0];
  EXPECT_EQ(s.key(), "198.51.100.10:80/TCP");
  EXPECT_EQ(s.name, "default/web:http");
  ASSERT_EQ(s.backends.size(), 3u);  // .5 .6 .7, not the not-ready .8
  EXPECT_EQ(s.backends[1].id(s.proto), "10.1.0.6:8080/TCP");
  EXPECT_TRUE(s.backends[1].draining);
  const maglev::Table table = s.BuildTable();
  ASSERT_EQ(table.backends.size(), 2u);
  EXPECT_EQ(table.backends[0].id, "10.1.0.5:8080/TCP");
  EXPECT_EQ(table.backends[1].id, "10.1.0.7:8080/TCP");
  EXPECT_EQ(table.entries.size(), maglev::TableSizeFor(2));
}

TEST(ComputeDesired, SkipsNonLoadBalancerUnassignedSctpAndOtherFamilies) {
  Snapshot snap;
  Service cluster = LbService("internal", "198.51.100.20");
  cluster.type = "ClusterIP";
  snap.services = {cluster, LbService("pending", ""),
                   LbService("sctp", "198.51.100.21", {{"s", "SCTP", 9, "9", 0}}),
                   LbService("v6", "2001:db8::10")};
  snap.endpoint_slices = {Slice("v6", {Ep("10.1.0.5")}), Slice("v6", {Ep("fd00::5")}, "IPv6")};
  auto d = Desired(snap, Config{}, "node-a");
  ASSERT_EQ(d.services.size(), 1u);
  EXPECT_EQ(d.services[0].key(), "[2001:db8::10]:80/TCP");
  ASSERT_EQ(d.services[0].backends.size(), 1u);
  EXPECT_EQ(d.services[0].backends[0].id(Proto::kTCP), "[fd00::5]:8080/TCP");
}

TEST(ComputeDesired, NoReadyEndpointGivesAnEmptyTable) {
  Snapshot snap;
  snap.services = {LbService("web", "198.51.100.10")};
  auto d = Desired(snap, Config{}, "node-a");
  ASSERT_EQ(d.services.size(), 1u);
  EXPECT_TRUE(d.services[0].BuildTable().entries.empty());
}

TEST(ComputeDesired, SameTableWhateverTheSliceOrder) {
  Snapshot a, b;
  a.services = b.services = {LbService("web", "198.51.100.10")};
  a.endpoint_slices = {Slice("web", {Ep("10.1.0.5"), Ep("10.1.0.6"), Ep("10.1.0.7")})};
  b.endpoint_slices = {Slice("web", {Ep("10.1.0.7"), Ep("10.1.0.5"), Ep("10.1.0.6")})};
  EXPECT_EQ(Desired(a, Config{}, "x").services[0].BuildTable(),
            Desired(b, Config{}, "y").services[0].BuildTable());
}

}  // namespace
}  // namespace ironlb::dataplane
