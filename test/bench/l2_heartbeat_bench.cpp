// The cost of L2 membership at scale, simulated in-process: one node's share of the heartbeat
// traffic of a 100-node cluster (99 peers, 10 heartbeats/s each way at the default 100 ms) —
// sealing a heartbeat, and opening + judging one (MAC check, replay check, health) — and an
// election of 10,000 VIPs over 100 nodes (what a membership change costs). Numbers quoted in
// docs/benchmarks.md (L2 failover).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "l2/election.h"
#include "l2/heartbeat.h"
#include "l2/membership.h"

namespace {

using namespace ironlb;
using namespace ironlb::l2;

const std::vector<uint8_t> kKey(32, 0x42);
constexpr int kNodes = 100;

std::string Name(int i) {
  return "node-" + std::to_string(i);
}

IPAddr NodeAddr(int i) {
  return IPAddr::V4(0x0a000000u + static_cast<uint32_t>(i));
}

void BM_SealHeartbeat(benchmark::State& state) {
  uint64_t seq = 0;
  for (auto _ : state) {
    auto f = EncodeHeartbeat({"node-1", 1, ++seq, true}, kKey);
    benchmark::DoNotOptimize(f);
  }
}
BENCHMARK(BM_SealHeartbeat);

// The receiving node's boot id, which its peers' heartbeats echo.
constexpr uint64_t kSelfBoot = 1700000000000000000ull;

// Every peer's heartbeats in turn, as they arrive at one node.
void BM_OpenAndJudgeHeartbeat(benchmark::State& state) {
  const auto t0 = Clock::now();
  Membership m("node-0", std::chrono::milliseconds(300), t0, kSelfBoot);
  std::map<std::string, std::vector<IPAddr>> peers;
  for (int i = 1; i < kNodes; ++i) peers[Name(i)] = {NodeAddr(i)};
  m.SetPeers(peers, t0);
  std::vector<std::vector<uint8_t>> frames;
  const int rounds = 64;
  for (int r = 1; r <= rounds; ++r)
    for (int i = 1; i < kNodes; ++i)
      frames.push_back(EncodeHeartbeat({Name(i), 1, uint64_t(r), true, kSelfBoot}, kKey));
  size_t k = 0;
  uint64_t epoch = 0;
  for (auto _ : state) {
    if (k == frames.size()) {
      // Replayed frames would be rejected: start a new "boot" so the work stays the accept path.
      state.PauseTiming();
      ++epoch;
      frames.clear();
      for (int r = 1; r <= rounds; ++r)
        for (int i = 1; i < kNodes; ++i)
          frames.push_back(
              EncodeHeartbeat({Name(i), 1 + epoch, uint64_t(r), true, kSelfBoot}, kKey));
      k = 0;
      state.ResumeTiming();
    }
    const auto d = DecodeHeartbeat(frames[k], kKey);
    const auto v =
        m.OnHeartbeat(*d.heartbeat, NodeAddr(static_cast<int>(k % (kNodes - 1)) + 1), t0);
    benchmark::DoNotOptimize(v);
    ++k;
  }
}
BENCHMARK(BM_OpenAndJudgeHeartbeat);

void BM_HealthyOf100(benchmark::State& state) {
  const auto t0 = Clock::now();
  Membership m("node-0", std::chrono::milliseconds(300), t0, kSelfBoot);
  std::map<std::string, std::vector<IPAddr>> peers;
  for (int i = 1; i < kNodes; ++i) peers[Name(i)] = {NodeAddr(i)};
  m.SetPeers(peers, t0);
  for (auto _ : state) benchmark::DoNotOptimize(m.Healthy(t0));
}
BENCHMARK(BM_HealthyOf100);

void BM_Elect10000VipsOver100Nodes(benchmark::State& state) {
  Plan plan;
  std::set<std::string> healthy;
  std::vector<std::string> all;
  for (int i = 0; i < kNodes; ++i) {
    all.push_back(Name(i));
    healthy.insert(Name(i));
  }
  std::sort(all.begin(), all.end());
  for (uint32_t v = 0; v < 10000; ++v)
    plan.vips.push_back({IPAddr::V4(0xC6120000u + v), {}, all, {}});
  for (auto _ : state) benchmark::DoNotOptimize(Elect(plan, healthy));
}
BENCHMARK(BM_Elect10000VipsOver100Nodes)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
