// Which Services this node answers for by L2 (MetalLB's ServiceL2Status), from the election's
// result: its interfaces, and every node owning one of the Service's addresses.
#include "l2/service_status.h"

#include <gtest/gtest.h>

namespace ironlb::l2 {
namespace {

Ownership Own(const char* vip, const char* owner, std::vector<ObjectRef> services,
              std::vector<std::string> interfaces = {}) {
  Ownership o;
  o.vip = *IPAddr::Parse(vip);
  o.owner = owner;
  o.services = std::move(services);
  o.interfaces = std::move(interfaces);
  return o;
}

const ObjectRef kWeb{"Service", "demo", "web"};
const ObjectRef kDual{"Service", "demo", "dual"};
const ObjectRef kOther{"Service", "demo", "other"};

TEST(L2ServiceAnnouncements, OnlyServicesOfOwnedVipsWithInterfacesAndOwners) {
  std::vector<Ownership> owners = {
      Own("198.51.100.10", "node-a", {kWeb}, {"eth1", "eth0"}),
      Own("198.51.100.11", "node-a", {kDual}),
      Own("2001:db8::11", "node-b", {kDual}),
      Own("198.51.100.12", "node-b", {kOther}),
  };
  Ownership unowned = Own("198.51.100.13", "node-a", {{"Service", "demo", "orphan"}});
  unowned.owner.reset();
  owners.push_back(unowned);
  const NodeAnnouncements got = ServiceAnnouncements(owners, "node-a");
  EXPECT_EQ(got.protocol, NodeAnnouncements::Protocol::kL2);
  ASSERT_EQ(got.services.size(), 2u);
  EXPECT_EQ(got.services[0].key(), "demo/dual");
  EXPECT_TRUE(got.services[0].interfaces.empty()) << "every interface, as MetalLB leaves it empty";
  EXPECT_EQ(got.services[0].owners, (std::vector<std::string>{"node-a", "node-b"}));
  EXPECT_EQ(got.services[1].key(), "demo/web");
  EXPECT_EQ(got.services[1].interfaces, (std::vector<std::string>{"eth0", "eth1"}));
  EXPECT_EQ(got.services[1].owners, std::vector<std::string>{"node-a"});
}

TEST(L2ServiceAnnouncements, ASharedVipNamesEveryServiceHoldingIt) {
  const NodeAnnouncements got =
      ServiceAnnouncements({Own("198.51.100.10", "node-a", {kWeb, kOther})}, "node-a");
  ASSERT_EQ(got.services.size(), 2u);
  EXPECT_EQ(got.services[0].name, "other");
  EXPECT_EQ(got.services[1].name, "web");
}

}  // namespace
}  // namespace ironlb::l2
