// MapSync's results pinned across rewrites of its internals: a fixed pseudo-random sequence of
// desired states (Services appear, lose and gain endpoints, drain, move to other nodes, vanish;
// small tables so that refusals happen) is applied, and after every step the maps' whole content
// and the SyncStats are folded into one digest. The expected digest was taken from the
// implementation with byte-vector-keyed std::maps; a compact image must give the same maps.
// Re-recorded once on purpose, when endpoints back from zero began to get their old slots: the
// byte-keyed implementation with that rule and the compact one both give the digests below.
#include <gtest/gtest.h>

#include <random>

#include "dataplane/map_sync.h"
#include "fake_map_ops.h"

namespace ironlb::dataplane {
namespace {

struct Digest {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  void Add(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  }
  void Add(uint64_t v) { Add(&v, sizeof(v)); }
  void Add(const std::string& s) {
    Add(s.size());
    Add(s.data(), s.size());
  }
};

void AddMaps(Digest* d, const FakeMapOps& ops) {
  for (MapId m : {MapId::kServices, MapId::kBackends, MapId::kMaglev, MapId::kEndpoints,
                  MapId::kNode, MapId::kVipAddrs}) {
    d->Add(static_cast<uint64_t>(m));
    for (const Bytes& k : ops.Keys(m)) {  // the fake's keys come sorted
      auto v = ops.Lookup(m, k);
      // An emptied array slot and a slot never written are the same to the data plane.
      if (m == MapId::kBackends && FromBytes<lb_backend>(*v).action == LB_ACTION_NONE) continue;
      d->Add(k.data(), k.size());
      d->Add(v->data(), v->size());
    }
  }
}

void AddStats(Digest* d, const SyncStats& st) {
  for (size_t v : {st.backends_written, st.backends_removed, st.services_written,
                   st.services_removed, st.tables_written, st.endpoints_written,
                   st.endpoints_removed, st.vip_addrs_written, st.vip_addrs_removed})
    d->Add(v);
  for (const auto& e : st.endpoints_over_vip_limit) d->Add(e);
  for (const auto& r : st.refused) {
    d->Add(r.name);
    d->Add(r.key);
    d->Add(r.reason);
  }
}

IPAddr V4(uint32_t host_order) {
  return IPAddr::V4(host_order);
}

// Step `step` of the scenario: each Service is present or not, with some of a pool of
// endpoints, some draining, some remote, some IPv6.
DesiredDataplane Step(std::mt19937& rng, int step) {
  DesiredDataplane d;
  d.node_v4 = V4(0xc0000215);
  if (step % 3 == 0) d.node_v6 = *IPAddr::Parse("2001:db8:ff::21");
  for (uint32_t s = 0; s < 40; ++s) {
    if (rng() % 5 == 0) continue;  // absent this step
    DesiredService svc;
    const bool v6 = s % 7 == 3;
    svc.vip = v6 ? *IPAddr::Parse("2001:db8:100::" + std::to_string(s + 1))
                 : V4(0xc6336400 + s % 30);  // some VIPs carry two ports
    svc.port = static_cast<uint16_t>(80 + s / 30);
    svc.proto = s % 4 == 1 ? Proto::kUDP : Proto::kTCP;
    svc.name = "ns/s" + std::to_string(s);
    svc.service = {"Service", "ns", "s" + std::to_string(s)};
    const uint32_t n = rng() % 6;
    std::set<std::pair<IPAddr, uint16_t>> seen;
    for (uint32_t i = 0; i < n; ++i) {
      DesiredBackend b;
      const uint32_t ep = rng() % 24;  // shared between Services
      b.addr = v6 ? *IPAddr::Parse("fd00::" + std::to_string(ep + 1)) : V4(0x0a010000 + ep);
      b.port = 8080;
      if (!seen.insert({b.addr, b.port}).second) continue;
      b.draining = rng() % 6 == 0;
      if (!v6 && rng() % 4 == 0) b.tunnel = V4(0xc0000216 + rng() % 3);
      svc.backends.push_back(b);
    }
    std::sort(svc.backends.begin(), svc.backends.end());
    d.services.push_back(std::move(svc));
  }
  std::sort(d.services.begin(), d.services.end(), [](const auto& a, const auto& b) {
    return std::tie(a.vip, a.port, a.proto) < std::tie(b.vip, b.port, b.proto);
  });
  return d;
}

struct Outcome {
  uint64_t digest = 0;
  size_t refused = 0, over_vip_limit = 0, tables = 0;  // the scenario reaches these paths
};

Outcome RunScenario(bool restart_midway) {
  FakeMapOps ops;
  ops.capacity[MapId::kServices] = 30;
  ops.capacity[MapId::kBackends] = 40;
  ops.capacity[MapId::kMaglev] = 30 * maglev::TableSizeFor(3);
  std::mt19937 rng(20261203);
  auto sync = std::make_unique<MapSync>(ops);
  Digest d;
  Outcome out;
  for (int step = 0; step < 60; ++step) {
    if (restart_midway && step == 30) sync = std::make_unique<MapSync>(ops);
    const DesiredDataplane want = Step(rng, step);
    const SyncStats st = sync->Apply(want);
    out.refused += st.refused.size();
    out.over_vip_limit += st.endpoints_over_vip_limit.size();
    out.tables += st.tables_written;
    AddStats(&d, st);
    AddMaps(&d, ops);
    // Applying the same state again writes nothing.
    const size_t writes = ops.writes;
    sync->Apply(want);
    EXPECT_EQ(ops.writes, writes) << "step " << step;
  }
  out.digest = d.h;
  return out;
}

TEST(MapSyncGolden, SameMapsAsTheByteKeyedImplementation) {
  const Outcome o = RunScenario(false);
  EXPECT_EQ(o.digest, 15688533774946992463ull);
  EXPECT_GT(o.refused, 0u);
  EXPECT_GT(o.over_vip_limit, 0u);
  EXPECT_GT(o.tables, 60u);
}

TEST(MapSyncGolden, SameMapsAcrossAnAdoptingRestart) {
  EXPECT_EQ(RunScenario(true).digest, 2697768140765824628ull);
}

}  // namespace
}  // namespace ironlb::dataplane
