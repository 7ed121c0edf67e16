// Cost of decoding YAML alone (DecodeYaml: parse, limits, typed objects), on the file
// agent_scale_bench.py generates: N LoadBalancer Services, each with an EndpointSlice of 10.
// The agent's cold start decodes exactly this before anything else can happen.
#include <benchmark/benchmark.h>

#include <string>

#include "config/decode.h"

namespace {

std::string ServiceDoc(int i, int per) {
  const std::string name = "s" + std::to_string(i);
  std::string eps;
  for (int k = 0; k < per; ++k) {
    eps += "- {addresses: [10." + std::to_string(100 + k) + "." + std::to_string(i / 256 % 256) +
           "." + std::to_string(i % 256) + "], conditions: {ready: true}, nodeName: node-a}\n";
  }
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name +
         ", namespace: bench}\nspec:\n  type: LoadBalancer\n  ports: [{name: http, port: 80, "
         "protocol: TCP, targetPort: 8080}]\n---\napiVersion: discovery.k8s.io/v1\nkind: "
         "EndpointSlice\nmetadata: {name: " +
         name + "-1, namespace: bench, labels: {kubernetes.io/service-name: " + name +
         "}}\naddressType: IPv4\nports: [{name: http, port: 8080, protocol: TCP}]\nendpoints:\n" +
         eps;
}

// The same text as agent_scale_bench.config(n, per), minus its few configuration objects.
std::string Config(int n, int per) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    if (i > 0) text += "---\n";
    text += ServiceDoc(i, per);
  }
  return text;
}

void BM_DecodeServices(benchmark::State& state) {
  const std::string text = Config(static_cast<int>(state.range(0)), 10);
  for (auto _ : state) {
    ironlb::Snapshot snap;
    ironlb::config::DecodeYaml(text, "bench.yaml", &snap, nullptr,
                               static_cast<int>(state.range(1)));
    if (snap.services.size() != static_cast<size_t>(state.range(0)) ||
        !snap.decode_errors.empty()) {
      state.SkipWithError("decode lost objects");
    }
    benchmark::DoNotOptimize(snap);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["documents"] = static_cast<double>(2 * state.range(0));
}
// Services, then threads (1, or 2: the second half of the documents on a thread of its own).
BENCHMARK(BM_DecodeServices)
    ->Args({1000, 1})
    ->Args({10000, 1})
    ->Args({10000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
