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

// n endpoints of the `set`-th family of names, so several unrelated sets can be sampled.
std::vector<Backend> EndpointSet(size_t n, size_t set) {
  std::vector<Backend> v;
  for (size_t i = 0; i < n; ++i) {
    v.push_back({"10." + std::to_string(set) + "." + std::to_string(i) + ".7:8080/TCP"});
  }
  return v;
}

// Not a timing: balance (max/min entries per equal-weight backend) and "extra" disruption, the
// fraction of the table that changes backend beyond the changed endpoint's own 1/n share, when
// one endpoint is removed (each in turn) or added (3 new names), at the agent's table sizes,
// over several unrelated name sets (20 below 50 endpoints, else 1).
void BM_Quality(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  const size_t sets = n < 50 ? 20 : 1;
  constexpr int kAdded = 3;
  double max_over_min = 0, rm_worst = 0, rm_sum = 0, add_worst = 0, add_sum = 0;
  size_t rm_count = 0, add_count = 0;
  for (auto _ : state) {
    for (size_t set = 0; set < sets; ++set) {
      const std::vector<Backend> all = EndpointSet(n, set);
      const uint32_t size = TableSizeFor(n);
      const Table before = Build(all, size);
      std::vector<size_t> counts(n, 0);
      for (uint32_t e : before.entries) ++counts[e];
      const auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
      max_over_min = std::max(max_over_min, static_cast<double>(*hi) / static_cast<double>(*lo));
      for (size_t r = 0; r < n; ++r) {
        std::vector<Backend> rest = all;
        rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(r));
        const double extra = MovedFraction(before, Build(rest, size)) - 1.0 / n;
        rm_worst = std::max(rm_worst, extra);
        rm_sum += extra;
        ++rm_count;
      }
      const uint32_t size_up = TableSizeFor(n + 1);
      const Table before_up = Build(all, size_up);
      for (int k = 0; k < kAdded; ++k) {
        std::vector<Backend> more = all;
        more.push_back({"192.168." + std::to_string(set) + "." + std::to_string(k) + ":8080/TCP"});
        const double extra = MovedFraction(before_up, Build(more, size_up)) - 1.0 / (n + 1);
        add_worst = std::max(add_worst, extra);
        add_sum += extra;
        ++add_count;
      }
    }
  }
  state.counters["size"] = TableSizeFor(n);
  state.counters["max_over_min"] = max_over_min;
  state.counters["rm_extra_worst"] = rm_worst;
  state.counters["rm_extra_mean"] = rm_sum / static_cast<double>(rm_count);
  state.counters["add_extra_worst"] = add_worst;
  state.counters["add_extra_mean"] = add_sum / static_cast<double>(add_count);
}
BENCHMARK(BM_Quality)
    ->Arg(3)
    ->Arg(5)
    ->Arg(10)
    ->Arg(20)
    ->Arg(100)
    ->Arg(1000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
