// MapSync against the in-memory fake: first fill, idempotence, restart adoption without writes,
// endpoint removal touching only what changed, draining, service removal.
#include "dataplane/map_sync.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "fake_map_ops.h"

namespace ironlb::dataplane {
namespace {

IPAddr A(const std::string& s) {
  return *IPAddr::Parse(s);
}

DesiredService Svc(const std::string& vip, uint16_t port, std::vector<DesiredBackend> backends) {
  DesiredService s;
  s.name = "default/web";
  s.vip = A(vip);
  s.port = port;
  s.backends = std::move(backends);
  return s;
}

DesiredBackend B(const std::string& addr, bool draining = false) {
  return {A(addr), 8080, draining, 1, std::nullopt};
}

// An endpoint on another node, reached at `node`.
DesiredBackend Remote(const std::string& addr, const std::string& node) {
  return {A(addr), 8080, false, 1, A(node)};
}

DesiredDataplane Three() {
  DesiredDataplane d;
  d.services = {Svc("198.51.100.10", 80, {B("10.1.0.5"), B("10.1.0.6"), B("10.1.0.7")})};
  return d;
}

std::vector<uint32_t> Table(const FakeMapOps& ops, const lb_service& s) {
  std::vector<uint32_t> t;
  for (uint32_t i = 0; i < s.maglev_size; ++i)
    t.push_back(FromBytes<uint32_t>(*ops.Lookup(MapId::kMaglev, ToBytes(s.maglev_base + i))));
  return t;
}

lb_service OnlyService(const FakeMapOps& ops) {
  auto keys = ops.Keys(MapId::kServices);
  EXPECT_EQ(keys.size(), 1u);
  return FromBytes<lb_service>(*ops.Lookup(MapId::kServices, keys.at(0)));
}

TEST(MapSync, FillsEveryMap) {
  FakeMapOps ops;
  MapSync sync(ops);
  auto st = sync.Apply(Three());
  EXPECT_EQ(st.backends_written, 3u);
  EXPECT_EQ(st.tables_written, 1u);
  EXPECT_EQ(ops.size(MapId::kEndpoints), 3u);
  lb_service s = OnlyService(ops);
  EXPECT_EQ(s.backend_count, 3u);
  EXPECT_EQ(s.maglev_size, maglev::TableSizeFor(3));
  for (uint32_t id : Table(ops, s)) EXPECT_TRUE(id >= 1 && id <= 3) << id;
}

TEST(MapSync, SecondApplyAndRestartWriteNothing) {
  FakeMapOps ops;
  MapSync(ops).Apply(Three());
  MapSync first(ops);
  ops.writes = 0;
  first.Apply(Three());
  EXPECT_EQ(ops.writes, 0u) << "idempotent";
  MapSync restarted(ops);  // a new agent process adopting the pinned maps
  restarted.Apply(Three());
  EXPECT_EQ(ops.writes, 0u) << "restart must not rewrite (hitless)";
}

TEST(MapSync, RemovingAnEndpointKeepsOtherIdsAndSwapsTheTableRange) {
  FakeMapOps ops;
  MapSync sync(ops);
  sync.Apply(Three());
  const lb_service before = OnlyService(ops);
  const auto table_before = Table(ops, before);

  DesiredDataplane two = Three();
  two.services[0] = Svc("198.51.100.10", 80, {B("10.1.0.5"), B("10.1.0.7")});
  auto st = sync.Apply(two);
  EXPECT_EQ(st.backends_written, 0u) << "surviving endpoints keep their slots";
  EXPECT_EQ(st.backends_removed, 1u);
  EXPECT_EQ(st.endpoints_removed, 1u);
  const lb_service after = OnlyService(ops);
  EXPECT_EQ(after.id, before.id);
  EXPECT_NE(after.maglev_base, before.maglev_base) << "new table written beside the old one";
  const auto table_after = Table(ops, after);
  const uint32_t removed_id = 2;  // 10.1.0.6, the second id handed out
  for (uint32_t id : table_after) EXPECT_NE(id, removed_id);
  size_t kept = 0;
  for (size_t i = 0; i < table_after.size(); ++i)
    if (table_before[i] != removed_id && table_before[i] == table_after[i]) ++kept;
  EXPECT_GT(kept, 0u) << "surviving endpoints keep slots (Maglev disruption is its own test)";
  lb_backend gone = FromBytes<lb_backend>(*ops.Lookup(MapId::kBackends, ToBytes(removed_id)));
  EXPECT_EQ(gone.action, LB_ACTION_NONE);
}

TEST(MapSync, DrainingEndpointKeepsItsSlotButLeavesTheTable) {
  FakeMapOps ops;
  MapSync sync(ops);
  sync.Apply(Three());
  DesiredDataplane d = Three();
  d.services[0] = Svc("198.51.100.10", 80, {B("10.1.0.5"), B("10.1.0.6", true), B("10.1.0.7")});
  sync.Apply(d);
  lb_backend drained = FromBytes<lb_backend>(*ops.Lookup(MapId::kBackends, ToBytes(2u)));
  EXPECT_EQ(drained.action, LB_ACTION_LOCAL);
  EXPECT_EQ(drained.flags, LB_BACKEND_F_DRAINING);
  for (uint32_t id : Table(ops, OnlyService(ops))) EXPECT_NE(id, 2u);
  EXPECT_EQ(ops.size(MapId::kEndpoints), 3u) << "drained endpoints still take their flows";
}

// Endpoints on other nodes are encapsulated to their node and are not this node's to accept;
// the node's own addresses go to lb_node, written once.
TEST(MapSync, RemoteEndpointsEncapsulateAndOnlyLocalOnesAreAccepted) {
  FakeMapOps ops;
  MapSync sync(ops);
  DesiredDataplane d;
  d.services = {Svc("198.51.100.10", 80, {B("10.1.0.5"), Remote("10.2.0.5", "192.0.2.22")})};
  d.node_v4 = A("192.0.2.21");
  d.node_v6 = A("2001:db8:ff::21");
  sync.Apply(d);
  bool saw_remote = false;
  for (uint32_t id = 1; id <= 2; ++id) {
    auto b = FromBytes<lb_backend>(*ops.Lookup(MapId::kBackends, ToBytes(id)));
    if (b.addr[0] == htobe32(0x0a020005)) {
      saw_remote = true;
      EXPECT_EQ(b.action, LB_ACTION_ENCAP);
      EXPECT_EQ(b.tunnel[0], htobe32(0xc0000216));
    } else {
      EXPECT_EQ(b.action, LB_ACTION_LOCAL);
      EXPECT_EQ(b.tunnel[0], 0u);
    }
  }
  EXPECT_TRUE(saw_remote);
  ASSERT_EQ(ops.size(MapId::kEndpoints), 1u);
  auto ek = FromBytes<lb_endpoint_key>(ops.Keys(MapId::kEndpoints).at(0));
  EXPECT_EQ(ek.addr[0], htobe32(0x0a010005));
  EXPECT_EQ(ek.proto, 6);
  auto ev = FromBytes<lb_endpoint_value>(
      *ops.Lookup(MapId::kEndpoints, ops.Keys(MapId::kEndpoints).at(0)));
  EXPECT_EQ(ev.vip_count, 1u) << "replies are found through the VIP:ports it serves";
  EXPECT_EQ(ev.vips[0].vip[0], htobe32(0xc633640a));
  EXPECT_EQ(ev.vips[0].port, htobe16(80));
  auto node = FromBytes<lb_node_addrs>(*ops.Lookup(MapId::kNode, ToBytes(uint32_t{0})));
  EXPECT_EQ(node.v4, htobe32(0xc0000215));
  EXPECT_EQ(node.v6[0], htobe32(0x20010db8));
  EXPECT_EQ(node.v6[3], htobe32(0x21));
  ops.writes = 0;
  sync.Apply(d);
  EXPECT_EQ(ops.writes, 0u);
}

// One endpoint behind five VIPs: the first four (VIP order) are kept for reply translation, the
// fifth is reported.
TEST(MapSync, EndpointBehindMoreVipsThanTranslatedIsReported) {
  FakeMapOps ops;
  MapSync sync(ops);
  DesiredDataplane d;
  for (int i = 0; i < 5; ++i)
    d.services.push_back(Svc("198.51.100." + std::to_string(10 + i), 80, {B("10.1.0.5")}));
  auto st = sync.Apply(d);
  ASSERT_EQ(ops.size(MapId::kEndpoints), 1u);
  auto ev = FromBytes<lb_endpoint_value>(
      *ops.Lookup(MapId::kEndpoints, ops.Keys(MapId::kEndpoints).at(0)));
  EXPECT_EQ(ev.vip_count, static_cast<uint32_t>(LB_ENDPOINT_VIPS));
  EXPECT_EQ(ev.vips[0].vip[0], htobe32(0xc633640a));
  EXPECT_EQ(st.endpoints_over_vip_limit, std::vector<std::string>{"10.1.0.5:8080/TCP"});
}

TEST(MapSync, ServiceWithoutEndpointsHasNoTableAndRemovalCleansUp) {
  FakeMapOps ops;
  MapSync sync(ops);
  DesiredDataplane d;
  d.services = {Svc("198.51.100.11", 80, {})};
  sync.Apply(d);
  lb_service s = OnlyService(ops);
  EXPECT_EQ(s.backend_count, 0u);
  EXPECT_EQ(s.maglev_size, 0u);
  auto st = sync.Apply(DesiredDataplane{});
  EXPECT_EQ(st.services_removed, 1u);
  EXPECT_EQ(ops.size(MapId::kServices), 0u);
}

// lb_service_keys: the VIP:port each service id stands for, which xdp_lb's conntrack hits check
// instead of looking the service up. Written with the service, cleared when it goes, repaired when
// an agent adopts maps that lack it (an older agent's) or hold a slot no service owns.
TEST(MapSync, ServiceKeysNameEveryIdsVipPortAndNothingElse) {
  FakeMapOps ops;
  MapSync sync(ops);
  sync.Apply(Three());
  const lb_service s = OnlyService(ops);
  const Bytes key = ops.Keys(MapId::kServices).at(0);
  ASSERT_TRUE(ops.Lookup(MapId::kServiceKeys, ToBytes(s.id)));
  EXPECT_EQ(*ops.Lookup(MapId::kServiceKeys, ToBytes(s.id)), key);

  ops.Delete(MapId::kServiceKeys, ToBytes(s.id));
  const uint32_t stray = s.id + 7;
  ops.Update(MapId::kServiceKeys, ToBytes(stray), key);
  MapSync adopted(ops);
  EXPECT_EQ(*ops.Lookup(MapId::kServiceKeys, ToBytes(s.id)), key) << "missing slot written";
  EXPECT_EQ(*ops.Lookup(MapId::kServiceKeys, ToBytes(stray)), ToBytes(lb_vip_key{}))
      << "a slot no service owns cleared";

  adopted.Apply(DesiredDataplane{});
  EXPECT_EQ(*ops.Lookup(MapId::kServiceKeys, ToBytes(s.id)), ToBytes(lb_vip_key{}));
}

// Conntrack entries in the kernel name backend slots. Endpoints scaled to zero and back must get
// their own slots again, and a newcomer must not get one just freed: either would hand live flows
// to another endpoint (the fault suite lost every flow of one endpoint this way).
std::map<std::string, uint32_t> SlotsByAddress(const FakeMapOps& ops) {
  std::map<std::string, uint32_t> out;
  for (const Bytes& k : ops.Keys(MapId::kBackends)) {
    auto b = FromBytes<lb_backend>(*ops.Lookup(MapId::kBackends, k));
    if (b.action == LB_ACTION_NONE) continue;
    IPAddr a = IPAddr::FromBytes(Family::kV4, reinterpret_cast<const uint8_t*>(b.addr));
    out[a.str()] = FromBytes<uint32_t>(k);
  }
  return out;
}

TEST(MapSync, EndpointsBackFromZeroGetTheirSlotsAndNewcomersNoFreedOne) {
  FakeMapOps ops;
  MapSync sync(ops);
  sync.Apply(Three());
  const auto before = SlotsByAddress(ops);
  ASSERT_EQ(before.size(), 3u);
  DesiredDataplane none;
  none.services = {Svc("198.51.100.10", 80, {})};
  EXPECT_EQ(sync.Apply(none).backends_removed, 3u);
  EXPECT_TRUE(SlotsByAddress(ops).empty());
  sync.Apply(Three());
  EXPECT_EQ(SlotsByAddress(ops), before);
  // One goes, another comes: the newcomer takes a slot no live flow can name.
  DesiredDataplane swapped;
  swapped.services = {Svc("198.51.100.10", 80, {B("10.1.0.5"), B("10.1.0.6"), B("10.1.0.8")})};
  sync.Apply(swapped);
  auto after = SlotsByAddress(ops);
  EXPECT_EQ(after.at("10.1.0.5"), before.at("10.1.0.5"));
  EXPECT_EQ(after.at("10.1.0.6"), before.at("10.1.0.6"));
  for (const auto& [addr, id] : before) EXPECT_NE(after.at("10.1.0.8"), id) << addr;
  // And after a restart (the maps adopted), a newcomer still takes a slot past the used ones.
  MapSync restarted(ops);
  DesiredDataplane more = swapped;
  more.services[0].backends.push_back(B("10.1.0.9"));
  restarted.Apply(more);
  after = SlotsByAddress(ops);
  for (const auto& [addr, id] : before) EXPECT_NE(after.at("10.1.0.9"), id) << addr;
  EXPECT_NE(after.at("10.1.0.9"), after.at("10.1.0.8"));
}

// The fake, refusing the Nth write to lb_backends as a kernel error would.
class FailingOps : public FakeMapOps {
 public:
  void Update(MapId map, const Bytes& key, const Bytes& value) override {
    if (map == MapId::kBackends && fail_at > 0 && --fail_at == 0)
      throw std::runtime_error("injected: cannot update lb_backends");
    FakeMapOps::Update(map, key, value);
  }
  int fail_at = 0;  // 0: never
};

std::map<std::string, uint32_t> InUse(const MapSync& sync) {
  std::map<std::string, uint32_t> out;
  sync.ForEachBackend([&](uint32_t id, const lb_backend& b) {
    out[IPAddr::FromBytes(Family::kV4, reinterpret_cast<const uint8_t*>(b.addr)).str()] = id;
  });
  return out;
}

TEST(MapSync, SlotsReservedByAPassThatFailedAreReleasedWhole) {
  FailingOps ops;
  MapSync sync(ops);
  // All three slots are reserved, then the second write fails: two stay reserved, unwritten.
  ops.fail_at = 2;
  EXPECT_THROW(sync.Apply(Three()), std::runtime_error);
  // The Service goes before the retry: every slot is released, written or not.
  DesiredDataplane none;
  sync.Apply(none);
  EXPECT_TRUE(InUse(sync).empty());
  // One of the endpoints comes back with a newcomer: both are in use, in slots of their own.
  DesiredDataplane back;
  back.services = {Svc("198.51.100.10", 80, {B("10.1.0.6"), B("10.1.0.8")})};
  sync.Apply(back);
  const auto in_use = InUse(sync);
  ASSERT_EQ(in_use.size(), 2u) << "a slot released unwritten was still indexed: its endpoint "
                                  "was handed a free slot without taking it";
  EXPECT_EQ(SlotsByAddress(ops), in_use);
  // And when they go, nothing is left behind in lb_backends.
  sync.Apply(none);
  EXPECT_TRUE(SlotsByAddress(ops).empty());
}

TEST(RangeAllocator, AppendsWhileThereIsRoomThenReusesFreedGaps) {
  RangeAllocator r(1000);
  EXPECT_EQ(r.Allocate(251), 0u);
  EXPECT_EQ(r.Allocate(251), 251u);
  r.Free(0);
  EXPECT_EQ(r.Allocate(100), 502u);
  EXPECT_EQ(r.Allocate(300), 602u);
  EXPECT_EQ(r.Allocate(200), 0u) << "end reached: the freed gap is used";
  EXPECT_EQ(r.Allocate(60), 902u);
  EXPECT_EQ(r.Allocate(50), 200u) << "the rest of the freed gap";
  EXPECT_EQ(r.Allocate(600), std::nullopt);
}

DesiredService Named(const std::string& vip, const std::string& name,
                     std::vector<DesiredBackend> backends) {
  DesiredService s = Svc(vip, 80, std::move(backends));
  s.name = name;
  s.service = {"Service", "default", name};
  return s;
}

TEST(MapSyncCapacity, ServiceTableFullRefusesOnlyTheNewcomerAndServesItWhenRoomAppears) {
  FakeMapOps ops;
  ops.capacity[MapId::kServices] = 2;
  MapSync sync(ops);
  DesiredDataplane d;
  d.services = {Named("198.51.100.20", "b", {B("10.1.0.5")}),
                Named("198.51.100.30", "c", {B("10.1.0.6")})};
  EXPECT_TRUE(sync.Apply(d).refused.empty());
  // A newcomer that sorts first must not take the room of a Service already serving.
  d.services.insert(d.services.begin(), Named("198.51.100.10", "a", {B("10.1.0.7")}));
  auto st = sync.Apply(d);
  ASSERT_EQ(st.refused.size(), 1u);
  EXPECT_EQ(st.refused[0].name, "a");
  EXPECT_EQ(st.refused[0].service.name, "a");
  EXPECT_NE(st.refused[0].reason.find("service table full"), std::string::npos);
  EXPECT_EQ(ops.size(MapId::kServices), 2u);
  EXPECT_EQ(ops.size(MapId::kEndpoints), 2u) << "no endpoint entry for a refused Service";
  // Room appears: the refused Service is served in the same pass that frees it.
  d.services.erase(d.services.begin() + 1);
  st = sync.Apply(d);
  EXPECT_TRUE(st.refused.empty());
  EXPECT_EQ(ops.size(MapId::kServices), 2u);
}

TEST(MapSyncCapacity, BackendTableFullRefusesOneServiceNotAll) {
  FakeMapOps ops;
  ops.capacity[MapId::kBackends] = 4;  // slot 0 is never used: 3 endpoints fit
  MapSync sync(ops);
  DesiredDataplane d;
  d.services = {Named("198.51.100.10", "small", {B("10.1.0.5"), B("10.1.0.6")}),
                Named("198.51.100.20", "big", {B("10.1.0.7"), B("10.1.0.8")}),
                Named("198.51.100.30", "shares", {B("10.1.0.5")})};
  auto st = sync.Apply(d);
  ASSERT_EQ(st.refused.size(), 1u);
  EXPECT_EQ(st.refused[0].name, "big");
  EXPECT_NE(st.refused[0].reason.find("backend table full"), std::string::npos);
  EXPECT_EQ(ops.size(MapId::kServices), 2u) << "a shared endpoint needs no new slot";
  // The refused Service left no half-written backend behind.
  size_t used = 0;
  for (uint32_t id = 1; id < 4; ++id)
    if (auto v = ops.Lookup(MapId::kBackends, ToBytes(id)))
      used += FromBytes<lb_backend>(*v).action != LB_ACTION_NONE;
  EXPECT_EQ(used, 2u);
  // Endpoints scaled down elsewhere free slots; the refused Service then fits.
  d.services[0].backends = {B("10.1.0.5")};
  st = sync.Apply(d);
  EXPECT_TRUE(st.refused.empty());
  EXPECT_EQ(ops.size(MapId::kServices), 3u);
}

TEST(MapSyncCapacity, MaglevArrayFullRefusesTheService) {
  FakeMapOps ops;
  ops.capacity[MapId::kMaglev] = maglev::TableSizeFor(1) + 10;
  MapSync sync(ops);
  DesiredDataplane d;
  d.services = {Named("198.51.100.10", "a", {B("10.1.0.5")}),
                Named("198.51.100.20", "b", {B("10.1.0.6")})};
  auto st = sync.Apply(d);
  ASSERT_EQ(st.refused.size(), 1u);
  EXPECT_EQ(st.refused[0].name, "b");
  EXPECT_NE(st.refused[0].reason.find("Maglev array full"), std::string::npos);
}

}  // namespace
}  // namespace ironlb::dataplane
