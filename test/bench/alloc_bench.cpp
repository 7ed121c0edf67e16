// Allocator cost: 10,000 Services into an IPv4 /16 and into an IPv6 /112, against a naive
// allocator that walks the pool from its start for every Service (as MetalLB's cursor does),
// measured in the same run so the ratio is meaningful; plus scaling and steady-state churn.
#include <benchmark/benchmark.h>

#include <string>
#include <unordered_set>
#include <vector>

#include "alloc/allocator.h"

namespace {

using ironlb::Family;
using ironlb::IPAddressPool;
using ironlb::IPPrefix;
using ironlb::IPRange;
using ironlb::u128;
using ironlb::alloc::Allocator;
using ironlb::alloc::Assignment;
using ironlb::alloc::Request;

constexpr int kServices = 10000;
// Scaling runs go up to nearly a full /16 (65,536 addresses).
constexpr int kMaxServices = 60000;
constexpr u128 kLowOctet = 0xff;  // .0 and .255 are the addresses avoidBuggyIPs skips

IPAddressPool MakePool(const char* cidr, bool avoid_buggy) {
  IPAddressPool p;
  p.meta.name = "bench";
  p.addresses = {cidr};
  auto prefix = IPPrefix::Parse(cidr);
  p.ranges = {IPRange{prefix->first(), prefix->last()}};
  p.avoid_buggy_ips = avoid_buggy;
  return p;
}

// Built once, outside the timed loops.
const std::vector<Request>& Requests(Family f) {
  static std::vector<Request> v4, v6;
  auto& v = f == Family::kV4 ? v4 : v6;
  if (v.empty()) {
    for (int i = 0; i < kMaxServices; ++i) {
      Request r;
      r.key = "bench/svc-" + std::to_string(i);
      r.ns = "bench";
      r.families = {f};
      r.ports = {{"TCP", 80}};
      v.push_back(r);
    }
  }
  return v;
}

void PerAlloc(benchmark::State& state, int n) {
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["time_per_alloc"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * n,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// One iteration: a fresh allocator, the pool, then n Services assigned one after another.
void RunOurs(benchmark::State& state, const char* cidr, Family f, bool avoid_buggy) {
  const int n = static_cast<int>(state.range(0));
  const auto& reqs = Requests(f);
  const std::map<std::string, IPAddressPool> pools{{"bench", MakePool(cidr, avoid_buggy)}};
  for (auto _ : state) {
    Allocator a;
    a.SetPools(pools);
    for (int i = 0; i < n; ++i) {
      auto res = a.Assign(reqs[i]);
      if (!std::holds_alternative<Assignment>(res)) {
        state.SkipWithError("allocation failed");
        return;
      }
      benchmark::DoNotOptimize(res);
    }
  }
  PerAlloc(state, n);
}

// The baseline: for each Service, walk the pool from its first address until an unused one
// (skipping .0/.255 if asked), with a hash-set lookup per address. Cheaper per step than
// MetalLB's own walk (no string formatting), so the ratio understates the difference.
class LinearScan {
 public:
  LinearScan(const IPRange& r, bool avoid_buggy) : range_(r), avoid_buggy_(avoid_buggy) {}
  bool Assign() {
    for (u128 v = range_.first.value(); v <= range_.last.value(); ++v) {
      if (avoid_buggy_ && range_.first.is_v4() &&
          ((v & kLowOctet) == 0 || (v & kLowOctet) == kLowOctet)) {
        continue;
      }
      if (used_.insert(static_cast<uint64_t>(v)).second) return true;
    }
    return false;
  }

 private:
  IPRange range_;
  bool avoid_buggy_;
  std::unordered_set<uint64_t> used_;  // low 64 bits: enough inside one /112 or /16
};

void RunLinear(benchmark::State& state, const char* cidr, bool avoid_buggy) {
  const int n = static_cast<int>(state.range(0));
  const IPAddressPool pool = MakePool(cidr, avoid_buggy);
  for (auto _ : state) {
    LinearScan s(pool.ranges[0], avoid_buggy);
    for (int i = 0; i < n; ++i) {
      if (!s.Assign()) {
        state.SkipWithError("allocation failed");
        return;
      }
    }
  }
  PerAlloc(state, n);
}

// Steady state: a pool already holding 10,000 Services; one Service leaves and comes back
// (it gets its hole back). This is the per-event cost the controller pays at scale.
void RunChurn(benchmark::State& state, const char* cidr, Family f) {
  const auto& reqs = Requests(f);
  Allocator a;
  a.SetPools({{"bench", MakePool(cidr, false)}});
  for (int i = 0; i < kServices; ++i) a.Assign(reqs[i]);
  size_t i = 0;
  for (auto _ : state) {
    const Request& r = reqs[(i * 7919) % kServices];
    a.Release(r.key);
    auto res = a.Assign(r);
    benchmark::DoNotOptimize(res);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Ours_V4_16(benchmark::State& s) {
  RunOurs(s, "10.0.0.0/16", Family::kV4, false);
}
void BM_Ours_V4_16_AvoidBuggy(benchmark::State& s) {
  RunOurs(s, "10.0.0.0/16", Family::kV4, true);
}
void BM_Ours_V6_112(benchmark::State& s) {
  RunOurs(s, "2001:db8::/112", Family::kV6, false);
}
void BM_Linear_V4_16(benchmark::State& s) {
  RunLinear(s, "10.0.0.0/16", false);
}
void BM_Linear_V4_16_AvoidBuggy(benchmark::State& s) {
  RunLinear(s, "10.0.0.0/16", true);
}
void BM_Linear_V6_112(benchmark::State& s) {
  RunLinear(s, "2001:db8::/112", false);
}
void BM_Churn_V4_16(benchmark::State& s) {
  RunChurn(s, "10.0.0.0/16", Family::kV4);
}
void BM_Churn_V6_112(benchmark::State& s) {
  RunChurn(s, "2001:db8::/112", Family::kV6);
}

BENCHMARK(BM_Ours_V4_16)->Arg(kServices)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Linear_V4_16)->Arg(kServices)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Ours_V6_112)->Arg(kServices)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Linear_V6_112)->Arg(kServices)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Ours_V4_16_AvoidBuggy)->Arg(kServices)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Linear_V4_16_AvoidBuggy)->Arg(kServices)->Unit(benchmark::kMillisecond);
// Scaling: per-allocation cost should stay flat for ours and grow linearly for the scan.
BENCHMARK(BM_Ours_V4_16)->Arg(1000)->Arg(kMaxServices)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Linear_V4_16)->Arg(1000)->Arg(30000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Churn_V4_16)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Churn_V6_112)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
