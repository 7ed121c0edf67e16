// Controller reconcile: Services in, assignments out; adoption on the first pass, release on
// delete/type change, a Service with a broken annotation keeps the address it holds.
#include "controller/controller.h"

#include <gtest/gtest.h>

namespace ironlb {
namespace {

IPAddressPool Pool(const std::string& name, const std::string& first, const std::string& last) {
  IPAddressPool p;
  p.meta.name = name;
  p.addresses = {first + "-" + last};
  p.ranges = {IPRange{*IPAddr::Parse(first), *IPAddr::Parse(last)}};
  return p;
}

Service LB(const std::string& name, uint16_t port = 80) {
  Service s;
  s.meta.ns = "demo";
  s.meta.name = name;
  s.type = "LoadBalancer";
  s.ports = {{"p", "TCP", port, "", 0}};
  return s;
}

const ServiceStatus* Find(const ReconcileResult& r, const std::string& key) {
  for (const auto& s : r.desired)
    if (s.key() == key) return &s;
  return nullptr;
}

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override { cfg.pools["pool"] = Pool("pool", "192.0.2.1", "192.0.2.3"); }
  Config cfg;
  Snapshot snap;
};

TEST_F(ControllerTest, AssignsInNameOrderAndReportsExhaustion) {
  for (auto n : {"d", "c", "b", "a"}) snap.services.push_back(LB(n));
  Controller c;
  auto r = c.Reconcile(snap, cfg);
  ASSERT_EQ(r.desired.size(), 4u);
  EXPECT_EQ(Find(r, "demo/a")->ips, std::vector<IPAddr>{*IPAddr::Parse("192.0.2.1")});
  EXPECT_EQ(Find(r, "demo/c")->ips, std::vector<IPAddr>{*IPAddr::Parse("192.0.2.3")});
  const auto* d = Find(r, "demo/d");
  EXPECT_TRUE(d->ips.empty());
  EXPECT_FALSE(d->error.empty()) << "a pending Service must say why";
}

TEST_F(ControllerTest, IgnoresOtherTypesAndClasses) {
  snap.services.push_back(LB("mine"));
  auto cip = LB("clusterip");
  cip.type = "ClusterIP";
  auto other = LB("other-class");
  other.load_balancer_class = "example.com/other";
  snap.services.push_back(cip);
  snap.services.push_back(other);
  Controller c;
  auto r = c.Reconcile(snap, cfg);
  ASSERT_EQ(r.desired.size(), 1u);
  EXPECT_EQ(r.desired[0].name, "mine");
}

TEST_F(ControllerTest, AdoptsHeldAddressesBeforeAllocating) {
  // "z" already holds .1 (from status); "a" sorts first and would take .1 without adoption.
  auto z = LB("z");
  z.ingress = {{IPAddr::Parse("192.0.2.1"), "", ""}};
  snap.services = {LB("a"), z};
  Controller c;
  auto r = c.Reconcile(snap, cfg);
  EXPECT_EQ(Find(r, "demo/z")->ips, std::vector<IPAddr>{*IPAddr::Parse("192.0.2.1")});
  EXPECT_EQ(Find(r, "demo/a")->ips, std::vector<IPAddr>{*IPAddr::Parse("192.0.2.2")});
}

TEST_F(ControllerTest, ReleasesOnDeleteAndOnTypeChange) {
  snap.services = {LB("a"), LB("b")};
  Controller c;
  c.Reconcile(snap, cfg);
  snap.services[0].type = "NodePort";  // a leaves LoadBalancer
  snap.services.pop_back();            // b is deleted
  auto r = c.Reconcile(snap, cfg);
  EXPECT_TRUE(r.desired.empty());
  EXPECT_FALSE(c.allocator().Get("demo/a").has_value());
  EXPECT_FALSE(c.allocator().Get("demo/b").has_value());
  snap.services = {LB("c")};
  r = c.Reconcile(snap, cfg);
  EXPECT_EQ(Find(r, "demo/c")->ips, std::vector<IPAddr>{*IPAddr::Parse("192.0.2.1")})
      << "freed address reused";
}

TEST_F(ControllerTest, BrokenAnnotationKeepsHeldAddress) {
  snap.services = {LB("a")};
  Controller c;
  auto r = c.Reconcile(snap, cfg);
  ASSERT_EQ(Find(r, "demo/a")->ips, std::vector<IPAddr>{*IPAddr::Parse("192.0.2.1")});
  snap.services[0].meta.annotations["metallb.io/loadBalancerIPs"] = "192.0.2.999";
  r = c.Reconcile(snap, cfg);
  const auto* a = Find(r, "demo/a");
  EXPECT_EQ(a->ips, std::vector<IPAddr>{*IPAddr::Parse("192.0.2.1")});
  EXPECT_NE(a->error.find("loadBalancerIPs"), std::string::npos) << a->error;
}

TEST_F(ControllerTest, PoolShrinkReassigns) {
  snap.services = {LB("a"), LB("b")};
  Controller c;
  c.Reconcile(snap, cfg);
  cfg.pools["pool"] = Pool("pool", "192.0.2.2", "192.0.2.3");  // .1 (a's) leaves the pool
  auto r = c.Reconcile(snap, cfg);
  EXPECT_EQ(Find(r, "demo/a")->ips, std::vector<IPAddr>{*IPAddr::Parse("192.0.2.3")});
  EXPECT_EQ(Find(r, "demo/b")->ips, std::vector<IPAddr>{*IPAddr::Parse("192.0.2.2")})
      << "b keeps its address";
}

}  // namespace
}  // namespace ironlb
