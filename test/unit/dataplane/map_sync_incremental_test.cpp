// MapSync's incremental pass (only the Services whose revision changed are diffed) against its
// full pass: a pseudo-random sequence of small edits (endpoints come, go, drain, move to another
// node; Services appear and vanish; the node's address changes) is applied to two MapSyncs, one
// given revisions and one not, and after every step both hold byte-identical maps and report the
// same SyncStats.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "dataplane/map_sync.h"
#include "fake_map_ops.h"

namespace ironlb::dataplane {
namespace {

using Maps = std::map<MapId, std::map<Bytes, Bytes>>;

Maps Contents(const FakeMapOps& ops) {
  Maps out;
  for (MapId m : {MapId::kServices, MapId::kBackends, MapId::kMaglev, MapId::kEndpoints,
                  MapId::kNode, MapId::kVipAddrs, MapId::kServiceKeys})
    for (const Bytes& k : ops.Keys(m)) {
      auto v = ops.Lookup(m, k);
      if (m == MapId::kBackends && FromBytes<lb_backend>(*v).action == LB_ACTION_NONE) continue;
      out[m][k] = *v;
    }
  return out;
}

void ExpectSameStats(const SyncStats& a, const SyncStats& b, int step) {
  EXPECT_EQ(a.backends_written, b.backends_written) << "step " << step;
  EXPECT_EQ(a.backends_removed, b.backends_removed) << "step " << step;
  EXPECT_EQ(a.services_written, b.services_written) << "step " << step;
  EXPECT_EQ(a.services_removed, b.services_removed) << "step " << step;
  EXPECT_EQ(a.tables_written, b.tables_written) << "step " << step;
  EXPECT_EQ(a.endpoints_written, b.endpoints_written) << "step " << step;
  EXPECT_EQ(a.endpoints_removed, b.endpoints_removed) << "step " << step;
  EXPECT_EQ(a.vip_addrs_written, b.vip_addrs_written) << "step " << step;
  EXPECT_EQ(a.vip_addrs_removed, b.vip_addrs_removed) << "step " << step;
  EXPECT_EQ(a.endpoints_over_vip_limit, b.endpoints_over_vip_limit) << "step " << step;
  EXPECT_EQ(a.refused, b.refused) << "step " << step;
}

// The world the desired states are drawn from, edited a little at every step.
struct World {
  static constexpr uint32_t kServices = 40;
  static constexpr uint32_t kEndpoints = 30;
  struct Svc {
    bool present = true;
    std::map<uint32_t, bool> endpoints;  // endpoint -> draining
    int odd_tunnel = -1;                 // an endpoint this Service sees on another node
  };
  std::vector<Svc> svcs = std::vector<Svc>(kServices);
  std::vector<int> node_of = std::vector<int>(kEndpoints, -1);  // -1: this node
  bool v6_node = false;

  void Edit(std::mt19937& rng, bool odd) {
    Svc& s = svcs[rng() % kServices];
    const uint32_t ep = rng() % kEndpoints;
    switch (rng() % 8) {
      case 0: s.present = !s.present; break;
      case 1:
      case 2: s.endpoints[ep] = rng() % 5 == 0; break;
      case 3: s.endpoints.erase(ep); break;
      case 4:
        if (!s.endpoints.empty()) {
          auto it = s.endpoints.begin();
          std::advance(it, rng() % s.endpoints.size());
          it->second = !it->second;
        }
        break;
      case 5: node_of[ep] = static_cast<int>(rng() % 4) - 1; break;
      case 6: v6_node = !v6_node; break;
      case 7:
        if (odd) s.odd_tunnel = s.odd_tunnel >= 0 ? -1 : static_cast<int>(ep);
        break;
    }
  }

  DesiredDataplane Desired(bool revisions) const {
    DesiredDataplane d;
    d.node_v4 = IPAddr::V4(0xc0000215);
    if (v6_node) d.node_v6 = *IPAddr::Parse("2001:db8:ff::21");
    for (uint32_t i = 0; i < kServices; ++i) {
      const Svc& w = svcs[i];
      if (!w.present) continue;
      DesiredService s;
      const bool v6 = i % 7 == 3;
      s.vip = v6 ? *IPAddr::Parse("2001:db8:100::" + std::to_string(i + 1))
                 : IPAddr::V4(0xc6336400 + i % 25);  // some VIPs carry two ports
      s.port = static_cast<uint16_t>(80 + i / 25);
      s.proto = i % 4 == 1 ? Proto::kUDP : Proto::kTCP;
      s.name = "ns/s" + std::to_string(i);
      s.service = {"Service", "ns", "s" + std::to_string(i)};
      for (const auto& [ep, draining] : w.endpoints) {
        DesiredBackend b;
        b.addr =
            v6 ? *IPAddr::Parse("fd00::" + std::to_string(ep + 1)) : IPAddr::V4(0x0a010000 + ep);
        b.port = 8080;
        b.draining = draining;
        if (!v6 && node_of[ep] >= 0) b.tunnel = IPAddr::V4(0xc0000216 + node_of[ep]);
        if (!v6 && w.odd_tunnel == static_cast<int>(ep)) b.tunnel = IPAddr::V4(0xc00002ff);
        s.backends.push_back(b);
      }
      std::sort(s.backends.begin(), s.backends.end());
      if (revisions) s.revision = Fingerprint(s);
      d.services.push_back(std::move(s));
    }
    std::sort(d.services.begin(), d.services.end(), [](const auto& a, const auto& b) {
      return std::tie(a.vip, a.port, a.proto) < std::tie(b.vip, b.port, b.proto);
    });
    return d;
  }
};

struct Tally {
  int steps = 0;
  int incremental = 0;  // steps the revisioned MapSync diffed fewer Services than there were
  int refusing = 0;     // steps with a refusal
  int over_limit = 0;   // steps with an endpoint over the VIP limit
};

// Tight capacities make refusals; the full and the incremental pass must still agree on the
// maps after every step, and on the stats except in a pass that refuses (see map_sync.h).
Tally Compare(uint32_t seed, bool tight, bool odd_tunnels, bool restart_midway) {
  FakeMapOps full_ops, inc_ops;
  for (FakeMapOps* ops : {&full_ops, &inc_ops}) {
    ops->capacity[MapId::kServices] = tight ? 30 : 64;
    ops->capacity[MapId::kBackends] = tight ? 28 : 256;
    ops->capacity[MapId::kMaglev] = (tight ? 30 : 64) * maglev::TableSizeFor(8);
  }
  auto full = std::make_unique<MapSync>(full_ops);
  auto inc = std::make_unique<MapSync>(inc_ops);
  std::mt19937 rng(seed);
  World w;
  for (uint32_t i = 0; i < World::kServices; ++i)
    for (uint32_t e = 0; e < 4; ++e) w.svcs[i].endpoints[(i * 3 + e) % World::kEndpoints] = false;
  Tally run;
  bool last_refused = false;
  for (int step = 0; step < 40; ++step) {
    if (step > 0) {
      const uint32_t edits = 1 + rng() % 3;
      for (uint32_t e = 0; e < edits; ++e) w.Edit(rng, odd_tunnels);
    }
    if (restart_midway && step == 20) {  // both adopt what the maps hold, as a new agent does
      full = std::make_unique<MapSync>(full_ops);
      inc = std::make_unique<MapSync>(inc_ops);
    }
    const SyncStats a = full->Apply(w.Desired(false));
    const SyncStats b = inc->Apply(w.Desired(true));
    const bool same = Contents(full_ops) == Contents(inc_ops);
    EXPECT_TRUE(same) << "step " << step;
    if (!same) return run;
    // A pass after a refusing one is full on both sides; the refusing pass itself may differ in
    // how often a shared endpoint's flag was written (the maps do not).
    if (!last_refused && a.refused.empty()) ExpectSameStats(a, b, step);
    last_refused = !a.refused.empty();
    ++run.steps;
    run.incremental += b.services_diffed < a.services_diffed;
    run.refusing += !a.refused.empty();
    run.over_limit += !a.endpoints_over_vip_limit.empty();
    // Applying the same state again writes nothing.
    const size_t writes = inc_ops.writes;
    inc->Apply(w.Desired(true));
    EXPECT_EQ(inc_ops.writes, writes) << "step " << step;
  }
  return run;
}

TEST(MapSyncIncremental, SameMapsAsTheFullPass) {
  for (uint32_t seed : {1u, 20261203u}) {
    const Tally r = Compare(seed, false, false, false);
    EXPECT_GT(r.incremental, r.steps / 2) << "seed " << seed;
    EXPECT_GT(r.over_limit, 0) << "seed " << seed;
  }
}

TEST(MapSyncIncremental, SameMapsWithEndpointsSeenOnTwoNodes) {
  // One endpoint with two values makes every pass full until it is gone again.
  for (uint32_t seed : {4u}) Compare(seed, false, true, false);
}

TEST(MapSyncIncremental, SameMapsWhenTablesAreFull) {
  for (uint32_t seed : {6u}) {
    const Tally r = Compare(seed, true, false, false);
    EXPECT_GT(r.refusing, 0) << "seed " << seed;
  }
}

TEST(MapSyncIncremental, SameMapsAcrossAnAdoptingRestart) {
  Compare(8u, false, false, true);
}

TEST(MapSyncIncremental, OneEndpointChangeDiffsOneService) {
  FakeMapOps ops;
  MapSync sync(ops);
  World w;
  for (uint32_t i = 0; i < World::kServices; ++i)
    w.svcs[i].endpoints[i % World::kEndpoints] = false;
  EXPECT_EQ(sync.Apply(w.Desired(true)).services_diffed, World::kServices);
  w.svcs[5].endpoints[29] = false;
  const SyncStats st = sync.Apply(w.Desired(true));
  EXPECT_EQ(st.services_diffed, 1u);
  EXPECT_EQ(st.tables_written, 1u);
  EXPECT_EQ(sync.Apply(w.Desired(true)).services_diffed, 0u);
}

}  // namespace
}  // namespace ironlb::dataplane
