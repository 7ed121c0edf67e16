// DesiredCache against ComputeDesired: a pseudo-random sequence of store edits (endpoints come,
// go, turn not ready or terminating, move nodes; Services change ports, policy, address; slices
// and Nodes come and go) gives, after every edit, exactly what ComputeDesired gives, while
// recomputing only the Services an edit touched.
#include <gtest/gtest.h>

#include <random>

#include "dataplane/desired.h"

namespace ironlb::dataplane {
namespace {

void ExpectSame(const DesiredDataplane& a, const DesiredDataplane& b, int step) {
  EXPECT_EQ(a.node_v4, b.node_v4) << "step " << step;
  EXPECT_EQ(a.node_v6, b.node_v6) << "step " << step;
  ASSERT_EQ(a.services.size(), b.services.size()) << "step " << step;
  for (size_t i = 0; i < a.services.size(); ++i) {
    const DesiredService& x = a.services[i];
    const DesiredService& y = b.services[i];
    EXPECT_EQ(x.service, y.service) << "step " << step;
    EXPECT_EQ(x.name, y.name) << "step " << step;
    EXPECT_EQ(x.vip, y.vip) << "step " << step;
    EXPECT_EQ(x.port, y.port) << "step " << step;
    EXPECT_EQ(x.proto, y.proto) << "step " << step;
    EXPECT_EQ(x.backends.get(), y.backends.get()) << "step " << step << " " << x.name;
    EXPECT_EQ(x.revision, y.revision) << "step " << step;
    EXPECT_NE(x.revision, 0u);
  }
}

std::string Ip(uint32_t i) {
  return "10.1." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1);
}

struct Store {
  Snapshot snap;
  Config cfg;

  explicit Store(std::mt19937& rng) {
    for (int n = 0; n < 3; ++n) snap.nodes.push_back(MakeNode(n));
    for (uint32_t i = 0; i < 30; ++i) {
      Service s;
      s.meta.ns = "ns";
      s.meta.name = "s" + std::to_string(i);
      s.type = "LoadBalancer";
      s.ports = {{"http", "TCP", 80, "8080", 0}};
      if (i % 5 == 0) s.ports.push_back({"dns", "UDP", 53, "53", 0});
      s.ingress.push_back({IPAddr::Parse("198.51.100." + std::to_string(i % 25 + 1)), "", ""});
      snap.services.push_back(s);
      EndpointSlice sl;
      sl.meta.ns = "ns";
      sl.meta.name = s.meta.name + "-a";
      sl.meta.labels["kubernetes.io/service-name"] = s.meta.name;
      sl.address_type = "IPv4";
      sl.ports = {{"http", "TCP", 8080}, {"dns", "UDP", 5353}};
      for (uint32_t e = 0; e < 3; ++e) sl.endpoints.push_back(Ep(rng));
      snap.endpoint_slices.push_back(sl);
    }
  }

  static Node MakeNode(int n) {
    Node node;
    node.meta.name = "n" + std::to_string(n);
    node.addresses = {{"InternalIP", "192.0.2." + std::to_string(21 + n)}};
    return node;
  }

  static Endpoint Ep(std::mt19937& rng) {
    Endpoint e;
    e.addresses = {Ip(rng() % 60)};
    e.node_name = "n" + std::to_string(rng() % 4);  // n3 has no Node object
    return e;
  }

  void Edit(std::mt19937& rng) {
    EndpointSlice& sl = snap.endpoint_slices[rng() % snap.endpoint_slices.size()];
    Service& svc = snap.services[rng() % snap.services.size()];
    switch (rng() % 12) {
      case 0: sl.endpoints.push_back(Ep(rng)); break;
      case 1:
        if (!sl.endpoints.empty()) sl.endpoints.erase(sl.endpoints.begin());
        break;
      case 2:
        if (!sl.endpoints.empty()) sl.endpoints.back().conditions.ready = rng() % 2 == 0;
        break;
      case 3:
        if (!sl.endpoints.empty()) sl.endpoints.back().conditions.terminating = rng() % 2 == 0;
        break;
      case 4:
        if (!sl.endpoints.empty()) sl.endpoints.back().node_name = "n" + std::to_string(rng() % 4);
        break;
      case 5:
        svc.external_traffic_policy = svc.external_traffic_policy == "Local" ? "Cluster" : "Local";
        break;
      case 6: svc.ports[0].port = static_cast<uint16_t>(80 + rng() % 3); break;
      case 7:
        svc.ingress.clear();
        if (rng() % 3 != 0)
          svc.ingress.push_back(
              {IPAddr::Parse("198.51.100." + std::to_string(rng() % 40 + 1)), "", ""});
        break;
      case 8: svc.type = svc.type == "LoadBalancer" ? "ClusterIP" : "LoadBalancer"; break;
      case 9:
        snap.nodes[rng() % snap.nodes.size()].addresses[0].address =
            "192.0.2." + std::to_string(30 + rng() % 10);
        break;
      case 10:
        if (!sl.endpoints.empty()) sl.endpoints.back().addresses = {Ip(rng() % 60)};
        break;
      case 11: sl.address_type = sl.address_type == "IPv4" ? "IPv6" : "IPv4"; break;
    }
  }
};

TEST(DesiredCache, SameAsComputeDesiredOverRandomEdits) {
  std::mt19937 rng(20261203);
  Store store(rng);
  DesiredCache cache;
  size_t few = 0;
  for (int step = 0; step < 400; ++step) {
    if (step > 0) store.Edit(rng);
    const Model model(store.cfg, store.snap);
    const std::string node = step % 100 < 90 ? "n0" : "n1";
    ExpectSame(cache.Compute(model, node), ComputeDesired(model, node), step);
    few += cache.recomputed() <= 2;
  }
  EXPECT_GT(few, 200u) << "most edits touch one Service (or two sharing a slice)";
}

TEST(DesiredCache, OneEndpointChangeRecomputesOneService) {
  std::mt19937 rng(7);
  Store store(rng);
  DesiredCache cache;
  cache.Compute(Model(store.cfg, store.snap), "n0");
  EXPECT_EQ(cache.recomputed(), 30u);
  store.snap.endpoint_slices[4].endpoints.push_back(Store::Ep(rng));
  const DesiredDataplane d = cache.Compute(Model(store.cfg, store.snap), "n0");
  EXPECT_EQ(cache.recomputed(), 1u);
  ExpectSame(d, ComputeDesired(Model(store.cfg, store.snap), "n0"), 0);
  cache.Compute(Model(store.cfg, store.snap), "n0");
  EXPECT_EQ(cache.recomputed(), 0u);
}

TEST(SharedVector, CopiesShareUntilOneIsWritten) {
  SharedVector<int> a = std::vector<int>{1, 2, 3};
  SharedVector<int> b = a;
  EXPECT_EQ(&a.get(), &b.get());
  b.push_back(4);
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(b.size(), 4u);
  b[0] = 9;
  EXPECT_EQ(a[0], 1);
  EXPECT_TRUE(SharedVector<int>().empty());
}

}  // namespace
}  // namespace ironlb::dataplane
