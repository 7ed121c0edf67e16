// `ironlbctl iface list`'s table: the words an operator reads when hand-offs to tc stop.
#include "tools/ironlbctl/iface_table.h"

#include <gtest/gtest.h>

namespace ironlbctl {
namespace {

using Rows = std::vector<std::vector<std::string>>;

TEST(IfaceTable, SaysWhatIsAttachedAndHowLongHandOffsAreVouchedFor) {
  const auto doc = nlohmann::json::parse(R"([
    {"interface": "eth0", "ifindex": 2, "mac": "02:00:00:00:00:21", "xdp": true,
     "tc": {"ingress": true, "egress": true},
     "ingress_vouched_until_ns": 1009400000000, "ingress_vouched_ms": 9400},
    {"interface": "eth1", "ifindex": 3, "mac": "02:00:00:00:00:22", "xdp": true,
     "tc": {"ingress": false, "egress": true},
     "ingress_vouched_until_ns": 990000000000, "ingress_vouched_ms": -12000},
    {"interface": "eth2", "ifindex": 4, "mac": "02:00:00:00:00:23", "xdp": false,
     "tc": {"ingress": false, "egress": false},
     "ingress_vouched_until_ns": 0, "ingress_vouched_ms": 0}
  ])");
  EXPECT_EQ(
      IfaceRows(doc),
      (Rows{{"INTERFACE", "IFINDEX", "MAC", "XDP", "TC INGRESS", "TC EGRESS", "HAND-OFF TO TC"},
            {"eth0", "2", "02:00:00:00:00:21", "yes", "yes", "yes", "9.4 s left"},
            {"eth1", "3", "02:00:00:00:00:22", "yes", "NO", "yes", "lapsed 12.0 s ago"},
            {"eth2", "4", "02:00:00:00:00:23", "NO", "NO", "NO", "never"}}));
}

TEST(IfaceTable, NoInterfacesIsTheHeaderAlone) {
  EXPECT_EQ(IfaceRows(nlohmann::json::array()).size(), 1u);
}

}  // namespace
}  // namespace ironlbctl
