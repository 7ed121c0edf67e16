// Maglev table build cost (the agent rebuilds a Service's table on every endpoint change) and,
// as counters, the balance and disruption figures quoted in docs/benchmarks-maglev.md.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dataplane/maglev.h"

namespace {

using ironlb::maglev::Backend;
using ironlb::maglev::Build;
using ironlb::maglev::kMaxTableSize;
using ironlb::maglev::Table;
using ironlb::maglev::TableSizeFor;

std::vector<Backend> Endpoints(size_t n) {
  std::vector<Backend> v;
  for (size_t i = 0; i < n; ++i) {
    v.push_back({"10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".7:8080/TCP"});
  }
  return v;
}

double MovedFraction(const Table& a, const Table& b) {
  size_t moved = 0;
  for (size_t s = 0; s < a.entries.size(); ++s) {
    if (a.backends[a.entries[s]].id != b.backends[b.entries[s]].id) ++moved;
  }
  return static_cast<double>(moved) / static_cast<double>(a.entries.size());
}

void Run(benchmark::State& state, uint32_t size) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::vector<Backend> in = Endpoints(n);
  for (auto _ : state) {
    Table t = Build(in, size);
    benchmark::DoNotOptimize(t.entries.data());
  }
  state.counters["size"] = size;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * size);  // entries/s
}

// The size the agent actually uses for n endpoints.
void BM_BuildLadderSize(benchmark::State& state) {
  Run(state, TableSizeFor(static_cast<size_t>(state.range(0))));
}
BENCHMARK(BM_BuildLadderSize)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

// The largest table, whatever n: the worst case per Service.
void BM_BuildMaxSize(benchmark::State& state) {
  Run(state, kMaxTableSize);
}
BENCHMARK(BM_BuildMaxSize)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

// Weights 1..5 across the set: the credit loop runs more rounds than with equal weights.
void BM_BuildWeightedMaxSize(benchmark::State& state) {
  std::vector<Backend> in = Endpoints(static_cast<size_t>(state.range(0)));
  for (size_t i = 0; i < in.size(); ++i) in[i].weight = static_cast<uint32_t>(1 + i % 5);
  for (auto _ : state) {
    Table t = Build(in, kMaxTableSize);
    benchmark::DoNotOptimize(t.entries.data());
  }
}
BENCHMARK(BM_BuildWeightedMaxSize)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);

// Not a timing: balance (max/min entries per backend) and the worst and mean fraction of the
// table that changes backend when one endpoint is removed or added, over every endpoint
// (removal) and 20 new ones (addition), at the agent's table size.
void BM_Quality(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const std::vector<Backend> all = Endpoints(n);
  const uint32_t size = TableSizeFor(n);
  double worst_remove = 0, mean_remove = 0, worst_add = 0, max_over_min = 0;
  for (auto _ : state) {
    const Table before = Build(all, size);
    std::vector<size_t> counts(n, 0);
    for (uint32_t e : before.entries) ++counts[e];
    const auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
    max_over_min = static_cast<double>(*hi) / static_cast<double>(*lo);
    double sum = 0;
    for (size_t r = 0; r < n; ++r) {
      std::vector<Backend> rest = all;
      rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(r));
      const double f = MovedFraction(before, Build(rest, size));
      worst_remove = std::max(worst_remove, f);
      sum += f;
    }
    mean_remove = sum / static_cast<double>(n);
    constexpr int kAdded = 20;
    for (int k = 0; k < kAdded; ++k) {
      std::vector<Backend> more = all;
      more.push_back({"192.168.9." + std::to_string(k) + ":8080/TCP"});
      worst_add = std::max(worst_add, MovedFraction(before, Build(more, size)));
    }
  }
  state.counters["size"] = size;
  state.counters["max_over_min"] = max_over_min;
  state.counters["one_over_n"] = 1.0 / static_cast<double>(n);
  state.counters["remove_worst"] = worst_remove;
  state.counters["remove_mean"] = mean_remove;
  state.counters["add_worst"] = worst_add;
}
BENCHMARK(BM_Quality)->Arg(10)->Arg(100)->Arg(1000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
