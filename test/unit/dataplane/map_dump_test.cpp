// The readers behind ironlbctl and the metrics, on the in-memory maps: services with their
// per-CPU counters summed, backends in use only, a Maglev table's distribution, conntrack with
// ages, occupancy, and explain's decision (conntrack, Maglev, drop) — no kernel involved.
#include "dataplane/map_dump.h"

#include <endian.h>
#include <gtest/gtest.h>
#include <time.h>

#include "dataplane/flow.h"
#include "fake_map_ops.h"
#include "runtime/monotonic.h"

namespace ironlb::dataplane {
namespace {

constexpr uint8_t kTcp = 6;

void V4(__be32 dst[4], uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  const uint8_t bytes[4] = {a, b, c, d};
  std::memset(dst, 0, 16);
  std::memcpy(dst, bytes, 4);
}

lb_vip_key Vip() {
  lb_vip_key k{};
  V4(k.addr, 198, 51, 100, 10);
  k.port = htobe16(80);
  k.proto = kTcp;
  k.family = LB_FAMILY_V4;
  return k;
}

lb_backend Backend(uint8_t last, uint8_t action = LB_ACTION_LOCAL) {
  lb_backend b{};
  V4(b.addr, 10, 1, 0, last);
  b.port = htobe16(8080);
  b.family = LB_FAMILY_V4;
  b.action = action;
  return b;
}

// Two CPUs' counters, laid out as the kernel returns a per-CPU value.
Bytes PerCpu(lb_counter a, lb_counter b) {
  Bytes out(2 * sizeof(lb_counter));
  std::memcpy(out.data(), &a, sizeof a);
  std::memcpy(out.data() + sizeof a, &b, sizeof b);
  return out;
}

lb_ct_key Flow(uint16_t sport) {
  lb_ct_key k{};
  V4(k.src, 203, 0, 113, 7);
  V4(k.dst, 198, 51, 100, 10);
  k.sport = htobe16(sport);
  k.dport = htobe16(80);
  k.proto = kTcp;
  k.family = LB_FAMILY_V4;
  return k;
}

class MapDumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lb_service s{};
    s.id = 3;
    s.backend_count = 2;
    s.maglev_base = 10;
    s.maglev_size = 7;
    ops.Update(MapId::kServices, ToBytes(Vip()), ToBytes(s));
    ops.Update(MapId::kBackends, ToBytes(uint32_t{1}), ToBytes(Backend(5)));
    ops.Update(MapId::kBackends, ToBytes(uint32_t{2}), ToBytes(Backend(6)));
    // A freed slot: the array keeps it, with no action.
    ops.Update(MapId::kBackends, ToBytes(uint32_t{4}), ToBytes(Backend(9, LB_ACTION_NONE)));
    const uint32_t table[7] = {1, 2, 1, 2, 1, 1, 2};
    for (uint32_t i = 0; i < 7; ++i) ops.Update(MapId::kMaglev, ToBytes(10 + i), ToBytes(table[i]));
    ops.Update(MapId::kVipStats, ToBytes(uint32_t{3}), PerCpu({5, 500}, {7, 700}));
    ops.Update(MapId::kBackendStats, ToBytes(uint32_t{2}), PerCpu({1, 60}, {2, 120}));
    ops.Update(MapId::kReasonStats, ToBytes(uint32_t{LB_R_PASS_OTHER_HOST}),
               PerCpu({4, 0}, {0, 0}));
  }
  FakeMapOps ops;
};

TEST_F(MapDumpTest, ServicesCarryTheirCountersSummedOverCpus) {
  const auto doc = DumpServices(ops);
  ASSERT_EQ(doc.size(), 1u);
  EXPECT_EQ(doc[0]["service"], "198.51.100.10:80/TCP");
  EXPECT_EQ(doc[0]["id"], 3);
  EXPECT_EQ(doc[0]["maglev_size"], 7);
  EXPECT_EQ(doc[0]["stats"]["packets"], 12);
  EXPECT_EQ(doc[0]["stats"]["bytes"], 1200);
}

TEST_F(MapDumpTest, BackendsListOnlySlotsInUse) {
  const auto doc = DumpBackends(ops);
  ASSERT_EQ(doc.size(), 2u);
  EXPECT_EQ(doc[0]["backend"], "10.1.0.5:8080");
  EXPECT_EQ(doc[1]["id"], 2);
  EXPECT_EQ(doc[1]["stats"]["packets"], 3);
  EXPECT_EQ(doc[1]["action"], "local");
}

TEST_F(MapDumpTest, MaglevShowsTheTableAndEachBackendsShare) {
  const auto doc = DumpMaglev(ops, "198.51.100.10:80/TCP");
  EXPECT_EQ(doc["entries"], nlohmann::json({1, 2, 1, 2, 1, 1, 2}));
  ASSERT_EQ(doc["backends"].size(), 2u);
  EXPECT_EQ(doc["backends"][0]["entries"], 4);
  EXPECT_EQ(doc["backends"][1]["backend"], "10.1.0.6:8080");
  EXPECT_THROW(DumpMaglev(ops, "198.51.100.11:80/TCP"), std::runtime_error);
  EXPECT_THROW(DumpMaglev(ops, "not-a-service"), std::invalid_argument);
}

TEST_F(MapDumpTest, StatsNameEveryReason) {
  const auto doc = DumpStats(ops);
  EXPECT_EQ(doc["reasons"].size(), size_t{LB_R_MAX});
  EXPECT_EQ(doc["reasons"]["pass_other_host"]["packets"], 4);
  EXPECT_EQ(doc["reasons"]["pass_not_vip"]["packets"], 0);
  EXPECT_EQ(doc["vips"][0]["stats"]["bytes"], 1200);
}

TEST_F(MapDumpTest, ConntrackAndExplainFollowTheXdpProgramsChoice) {
  // No entry yet: the flow hash picks a Maglev slot, as select_backend() does.
  const lb_ct_key k = Flow(40000);
  const uint32_t index = FlowHash(k) % 7;
  const uint32_t table[7] = {1, 2, 1, 2, 1, 1, 2};
  auto doc = ExplainFlow(ops, "198.51.100.10:80/TCP", "203.0.113.7:40000");
  EXPECT_EQ(doc["decision"], "maglev");
  EXPECT_EQ(doc["maglev"]["index"], index);
  EXPECT_EQ(doc["backend"]["id"], table[index]);
  EXPECT_EQ(ConntrackOccupancy(ops).entries, 0u);

  // A live entry on the other backend wins.
  lb_ct_value v{};
  v.backend_id = table[index] == 1 ? 2 : 1;
  v.service_id = 3;
  v.created_ns = MonotonicNs() - 5'000'000'000ull;
  v.last_seen_ns = MonotonicNs();
  ops.Update(MapId::kConntrack, ToBytes(k), ToBytes(v));
  doc = ExplainFlow(ops, "198.51.100.10:80/TCP", "203.0.113.7:40000");
  EXPECT_EQ(doc["decision"], "conntrack");
  EXPECT_EQ(doc["backend"]["id"], v.backend_id);
  EXPECT_EQ(ConntrackOccupancy(ops).entries, 1u);
  const auto ct = DumpConntrack(ops, 10);
  ASSERT_EQ(ct.size(), 1u);
  EXPECT_EQ(ct[0]["client"], "203.0.113.7:40000");
  EXPECT_EQ(ct[0]["age_s"], 5);

  // Its backend gone, the entry no longer decides; a service without endpoints drops.
  ops.Delete(MapId::kBackends, ToBytes(v.backend_id));
  EXPECT_EQ(ExplainFlow(ops, "198.51.100.10:80/TCP", "203.0.113.7:40000")["decision"], "maglev");
  EXPECT_EQ(DumpConntrack(ops, 10)[0]["backend"], "(gone)");
  lb_service empty{};
  empty.id = 3;
  ops.Update(MapId::kServices, ToBytes(Vip()), ToBytes(empty));
  doc = ExplainFlow(ops, "198.51.100.10:80/TCP", "203.0.113.7:40001");
  EXPECT_EQ(doc["decision"], "drop");
  EXPECT_EQ(doc["why"], "the service has no endpoint (drop_no_backend)");
}

}  // namespace
}  // namespace ironlb::dataplane
