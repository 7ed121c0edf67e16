// Which peers each Service is advertised to from this node (MetalLB's ServiceBGPStatus.peers):
// a route covering one of its addresses, a /32 or an aggregate, to that peer.
#include "bgp/service_status.h"

#include <gtest/gtest.h>

namespace ironlb::bgp {
namespace {

Service Svc(const char* name, const char* ip, const char* type = "LoadBalancer") {
  Service s;
  s.meta.ns = "demo";
  s.meta.name = name;
  s.type = type;
  s.ingress = {{IPAddr::Parse(ip), "", ""}};
  return s;
}

TEST(BgpServiceAnnouncements, PeersWhoseRoutesCoverTheServiceSorted) {
  Config cfg;
  Snapshot snap;
  snap.services = {Svc("web", "192.0.2.10"), Svc("agg", "192.0.2.77"), Svc("none", "203.0.113.5"),
                   Svc("cluster-ip", "192.0.2.10", "ClusterIP")};
  Announcements ann;
  ann.by_peer["zeta"][*IPPrefix::Parse("192.0.2.10/32")] = {};
  ann.by_peer["alpha"][*IPPrefix::Parse("192.0.2.10/32")] = {};
  ann.by_peer["alpha"][*IPPrefix::Parse("192.0.2.64/26")] = {};  // an aggregate
  ann.by_peer["idle"];                                           // selected, no routes
  const Model model(cfg, snap);
  const NodeAnnouncements got = ServiceAnnouncements(model, ann, "node-a");
  EXPECT_EQ(got.protocol, NodeAnnouncements::Protocol::kBgp);
  EXPECT_EQ(got.node, "node-a");
  ASSERT_EQ(got.services.size(), 2u);
  EXPECT_EQ(got.services[0].key(), "demo/agg");
  EXPECT_EQ(got.services[0].peers, std::vector<std::string>{"alpha"});
  EXPECT_EQ(got.services[1].key(), "demo/web");
  EXPECT_EQ(got.services[1].peers, (std::vector<std::string>{"alpha", "zeta"}));
}

TEST(BgpServiceAnnouncements, NothingAnnouncedNothingReported) {
  Snapshot snap;
  snap.services = {Svc("web", "192.0.2.10")};
  EXPECT_TRUE(
      ServiceAnnouncements(Model(Config{}, snap), Announcements{}, "node-a").services.empty());
}

}  // namespace
}  // namespace ironlb::bgp
