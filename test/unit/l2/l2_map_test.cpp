// The L2 speaker's map entries and their diff, against the in-memory maps.
#include "l2/l2_map.h"

#include <gtest/gtest.h>

#include "../dataplane/fake_map_ops.h"
#include "dataplane/map_layout.h"

namespace ironlb::l2 {
namespace {

using dataplane::FakeMapOps;
using dataplane::FromBytes;
using dataplane::MapId;

IPAddr A(const char* s) {
  return *IPAddr::Parse(s);
}

// (last octet, ifindex) -> state
std::map<std::pair<uint32_t, uint32_t>, uint32_t> Seen(const FakeMapOps& ops) {
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> seen;
  for (const auto& k : ops.Keys(MapId::kL2)) {
    auto key = FromBytes<lb_l2_key>(k);
    auto v = FromBytes<lb_l2_value>(*ops.Lookup(MapId::kL2, k));
    seen[{be32toh(key.addr[0]) & 0xff, key.ifindex}] = v.state;
  }
  return seen;
}

TEST(L2Map, OwnedPerInterfaceWithSilentWildcardAndOthersSilent) {
  FakeMapOps ops;
  L2MapWriter w(ops);
  std::vector<Ownership> owners = {{A("198.51.100.10"), "me", {}, {"eth0", "missing"}},
                                   {A("198.51.100.11"), "other", {}, {}},
                                   {A("198.51.100.12"), "me", {}, {}},
                                   {A("198.51.100.13"), std::nullopt, {}, {}}};
  auto st = w.Sync(L2Entries(owners, "me", {{"eth0", 7}}));
  EXPECT_EQ(st.written, 5u);
  EXPECT_EQ(Seen(ops),
            (std::map<std::pair<uint32_t, uint32_t>, uint32_t>{{{10, 0}, LB_L2_SILENT},
                                                               {{10, 7}, LB_L2_OWNED},
                                                               {{11, 0}, LB_L2_SILENT},
                                                               {{12, 0}, LB_L2_OWNED},
                                                               {{13, 0}, LB_L2_SILENT}}));
}

// A node answers only where XDP runs, the uplinks named by --interface: lo, docker*, veth*, cali*
// and kube-ipvs0 never answer unless named there, even when an advertisement names them, and an
// advertisement without interfaces means those uplinks only (the wildcard is read by XDP alone).
TEST(L2Map, NeverAnswersOnInterfacesXdpDoesNotRunOn) {
  const std::map<std::string, uint32_t> uplinks = {{"eth0", 7}, {"eth1", 8}};
  const std::vector<Ownership> owners = {
      {A("198.51.100.10"), "me", {}, {"lo", "docker0", "veth1a2b", "cali123", "kube-ipvs0"}},
      {A("198.51.100.11"), "me", {}, {"eth1"}}};
  FakeMapOps ops;
  L2MapWriter w(ops);
  w.Sync(L2Entries(owners, "me", uplinks));
  EXPECT_EQ(Seen(ops),
            (std::map<std::pair<uint32_t, uint32_t>, uint32_t>{
                {{10, 0}, LB_L2_SILENT}, {{11, 0}, LB_L2_SILENT}, {{11, 8}, LB_L2_OWNED}}))
      << "silent everywhere but the one selected uplink";
  // Named with --interface (a kind node's veth uplink, say) and by the advertisement: answered.
  FakeMapOps ops2;
  L2MapWriter w2(ops2);
  w2.Sync(L2Entries({{A("198.51.100.12"), "me", {}, {"veth1a2b"}}}, "me", {{"veth1a2b", 9}}));
  EXPECT_EQ(Seen(ops2), (std::map<std::pair<uint32_t, uint32_t>, uint32_t>{
                            {{12, 0}, LB_L2_SILENT}, {{12, 9}, LB_L2_OWNED}}));
}

TEST(L2Map, WritesOnlyTheDifferenceAndRemovesWhatIsGone) {
  FakeMapOps ops;
  L2MapWriter w(ops);
  std::vector<Ownership> owners = {{A("198.51.100.10"), "me", {}, {}},
                                   {A("198.51.100.11"), "me", {}, {}}};
  w.Sync(L2Entries(owners, "me", {}));
  ops.writes = 0;
  owners[0].owner = "other";
  owners.pop_back();
  auto st = w.Sync(L2Entries(owners, "me", {}));
  EXPECT_EQ(st.written, 1u);
  EXPECT_EQ(st.removed, 1u);
  EXPECT_EQ(ops.writes, 2u);
  EXPECT_EQ(Seen(ops),
            (std::map<std::pair<uint32_t, uint32_t>, uint32_t>{{{10, 0}, LB_L2_SILENT}}));
  // A restarted agent reads what is there and writes nothing when nothing changed.
  L2MapWriter restarted(ops);
  EXPECT_EQ(restarted.Sync(L2Entries(owners, "me", {})).written, 0u);
}

TEST(L2Map, StampHoldsTheClockAndTheFence) {
  FakeMapOps ops;
  L2MapWriter w(ops);
  w.Stamp(123, 200000000);
  auto v = FromBytes<lb_l2_live>(*ops.Lookup(MapId::kL2Live, dataplane::ToBytes(uint32_t{0})));
  EXPECT_EQ(v.stamp_ns, 123u);
  EXPECT_EQ(v.max_age_ns, 200000000u);
}

}  // namespace
}  // namespace ironlb::l2
