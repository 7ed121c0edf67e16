// MetalLB's announcement rules as ComputeAnnouncements applies them.
#include "bgp/announcements.h"

#include <gtest/gtest.h>

#include "config/validate_rules.h"

namespace ironlb::bgp {
namespace {

IPPrefix P(const char* s) {
  return *IPPrefix::Parse(s);
}

struct World {
  Config cfg;
  Snapshot snap;
  World() {
    IPAddressPool pool;
    pool.meta.name = "public";
    pool.meta.labels = {{"tier", "web"}};
    pool.ranges = {IPRange{*IPAddr::Parse("192.0.2.0"), *IPAddr::Parse("192.0.2.255")}};
    cfg.pools["public"] = pool;
    IPAddressPool v6;
    v6.meta.name = "v6";
    v6.ranges = {IPRange{*IPAddr::Parse("2001:db8::"), *IPAddr::Parse("2001:db8::ffff")}};
    cfg.pools["v6"] = v6;
    BGPPeer ext;
    ext.meta.name = "ext";
    ext.my_asn = 64512;
    ext.peer_asn = 64513;
    ext.peer_address = "10.0.0.1";
    cfg.peers["ext"] = ext;
    BGPPeer in = ext;
    in.meta.name = "int";
    in.peer_asn = 64512;
    cfg.peers["int"] = in;
    BGPAdvertisement adv;
    adv.meta.name = "all";
    cfg.bgp_advertisements["all"] = adv;
    Node n;
    n.meta.name = "node-a";
    n.meta.labels = {{"zone", "a"}};
    snap.nodes = {n};
    snap.services = {Svc("web", "192.0.2.10", "Cluster")};
    snap.endpoint_slices = {Slice("web", "node-b", true)};
  }
  static Service Svc(const char* name, const char* ip, const char* policy) {
    Service s;
    s.meta.ns = "default";
    s.meta.name = name;
    s.type = "LoadBalancer";
    s.external_traffic_policy = policy;
    s.ingress = {{IPAddr::Parse(ip), "", ""}};
    return s;
  }
  static EndpointSlice Slice(const char* svc, const char* node, bool ready) {
    EndpointSlice es;
    es.meta.ns = "default";
    es.meta.name = std::string(svc) + "-x";
    es.meta.labels = {{"kubernetes.io/service-name", svc}};
    Endpoint e;
    e.addresses = {"10.244.0.5"};
    e.node_name = node;
    e.conditions.ready = ready;
    es.endpoints = {e};
    return es;
  }
  Announcements Run(const std::string& node = "node-a") {
    // Communities reach BGP parsed, as validation leaves them (aliases resolved).
    for (auto& [name, adv] : cfg.bgp_advertisements) {
      config::RuleContext ctx{&snap.nodes, &snap.namespaces, &snap.secrets, &cfg};
      const BGPAdvertisement in = adv;
      EXPECT_TRUE(config::CheckBGPAdvertisement(in, ctx, &adv).empty());
    }
    return ComputeAnnouncements(Model(cfg, snap), node);
  }
};

TEST(Announcements, ClusterPolicyAnnouncesFromEveryNodeWhileAnEndpointServes) {
  World w;
  auto a = w.Run();
  ASSERT_EQ(a.by_peer.size(), 2u);
  EXPECT_TRUE(a.by_peer["ext"].count(P("192.0.2.10/32")));
  w.snap.endpoint_slices = {World::Slice("web", "node-b", false)};
  EXPECT_TRUE(w.Run().by_peer["ext"].empty());
}

TEST(Announcements, LocalPolicyOnlyFromNodesWithAReadyLocalEndpoint) {
  World w;
  w.snap.services = {World::Svc("web", "192.0.2.10", "Local")};
  EXPECT_TRUE(w.Run().by_peer["ext"].empty());
  w.snap.endpoint_slices.push_back(World::Slice("web", "node-a", true));
  EXPECT_TRUE(w.Run().by_peer["ext"].count(P("192.0.2.10/32")));
}

TEST(Announcements, AggregationCommunitiesAliasesAndLocalPref) {
  World w;
  auto& adv = w.cfg.bgp_advertisements["all"];
  adv.aggregation_length = 24;
  adv.local_pref = 150;
  adv.communities = {"65000:100", "large:64512:1:2", "no-adv"};
  w.cfg.community_aliases["no-adv"] = "65535:65282";
  auto a = w.Run();
  const RouteAttrs& ext = a.by_peer["ext"].at(P("192.0.2.0/24"));
  EXPECT_EQ(ext.communities, (std::set<uint32_t>{65000u << 16 | 100, 65535u << 16 | 65282}));
  EXPECT_EQ(ext.large_communities, (std::set<LargeCommunity>{{64512, 1, 2}}));
  EXPECT_EQ(ext.local_pref, 0u);  // localPref is for iBGP only
  EXPECT_EQ(a.by_peer["int"].at(P("192.0.2.0/24")).local_pref, 150u);
}

TEST(Announcements, PoolSelectionByNameSelectorAndAnnotation) {
  World w;
  auto& adv = w.cfg.bgp_advertisements["all"];
  adv.ip_address_pools = {"v6"};
  EXPECT_TRUE(w.Run().by_peer["ext"].empty());
  adv.ip_address_pools.clear();
  LabelSelector sel;
  sel.match_labels = {{"tier", "web"}};
  adv.ip_address_pool_selectors = {sel};
  EXPECT_FALSE(w.Run().by_peer["ext"].empty());
  // The allocation annotation names the pool even when ranges would say otherwise.
  w.snap.services[0].meta.annotations["metallb.io/ip-allocated-from-pool"] = "v6";
  EXPECT_TRUE(w.Run().by_peer["ext"].empty());
}

TEST(Announcements, PeersAndNodeSelectors) {
  World w;
  auto& adv = w.cfg.bgp_advertisements["all"];
  adv.peers = {"int"};
  auto a = w.Run();
  EXPECT_TRUE(a.by_peer["ext"].empty());
  EXPECT_FALSE(a.by_peer["int"].empty());
  LabelSelector zone_b;
  zone_b.match_labels = {{"zone", "b"}};
  adv.node_selectors = {zone_b};
  EXPECT_TRUE(w.Run().by_peer["int"].empty());
  // A peer whose nodeSelectors exclude this node has no session at all.
  w.cfg.peers["ext"].node_selectors = {zone_b};
  EXPECT_FALSE(w.Run().by_peer.count("ext"));
}

TEST(Announcements, Ipv6Vip) {
  World w;
  w.snap.services.push_back(World::Svc("web6", "2001:db8::10", "Cluster"));
  w.snap.endpoint_slices.push_back(World::Slice("web6", "node-c", true));
  EXPECT_TRUE(w.Run().by_peer["ext"].count(P("2001:db8::10/128")));
}

TEST(Announcements, NodeWithoutNodeObjectMatchesByHostnameLikeTheDataPlane) {
  // The same rule as the L2 decision: a node with no Node object carries its hostname label.
  World w;
  LabelSelector by_host;
  by_host.match_labels = {{"kubernetes.io/hostname", "node-z"}};
  w.cfg.peers["ext"].node_selectors = {by_host};
  EXPECT_TRUE(w.Run("node-z").by_peer.count("ext"));
  EXPECT_FALSE(w.Run("node-a").by_peer.count("ext"));
}

}  // namespace
}  // namespace ironlb::bgp

namespace ironlb::bgp {
namespace {

TEST(Announcements, ExcludedOrNetworkUnavailableNodeKeepsSessionsButAnnouncesNothing) {
  World w;
  w.snap.nodes[0].meta.labels["node.kubernetes.io/exclude-from-external-load-balancers"] = "";
  auto a = w.Run();
  ASSERT_EQ(a.by_peer.size(), 2u) << "sessions stay up";
  EXPECT_TRUE(a.by_peer["ext"].empty());
  w.snap.nodes[0].meta.labels.erase("node.kubernetes.io/exclude-from-external-load-balancers");
  w.snap.nodes[0].network_unavailable = true;
  EXPECT_TRUE(w.Run().by_peer["ext"].empty());
  w.snap.nodes[0].network_unavailable = false;
  EXPECT_FALSE(w.Run().by_peer["ext"].empty());
}

}  // namespace
}  // namespace ironlb::bgp
