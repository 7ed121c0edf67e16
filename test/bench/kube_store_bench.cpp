// KubeStore at scale against the fake API server (test/e2e/lib/fake_apiserver.py): N Services
// and N EndpointSlices. Reports the time from Start() to synced (paginated lists of every kind,
// decoded), the time to write N statuses (annotation + /status patches) at the configured
// client-side rate limit, and the requests per second the store sends once idle.
//   build-rel/bin/kube_store_bench --services=10000 --qps=0
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "kube/kube_store.h"

namespace {

using namespace std::chrono_literals;
int g_services = 10000;
double g_qps = 0;

void BM_KubeStoreScale(benchmark::State& state) {
  int out[2];
  if (pipe(out) != 0) return;
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    const std::string script = std::string(IRONLB_SOURCE_DIR) + "/test/e2e/lib/fake_apiserver.py";
    const std::string n = std::to_string(g_services);
    execl("/usr/bin/python3", "/usr/bin/python3", script.c_str(), "--seed-services", n.c_str(),
          nullptr);
    _exit(127);
  }
  close(out[1]);
  FILE* f = fdopen(out[0], "r");
  char line[256] = {};
  if (!fgets(line, sizeof line, f)) {
    state.SkipWithError("fake apiserver did not start");
    return;
  }
  fclose(f);
  std::string url = line;
  url.pop_back();
  ironlb::kube::ClusterConfig cfg;
  cfg.scheme = "http";
  cfg.host = "127.0.0.1";
  cfg.port = url.substr(url.rfind(':') + 1);
  for (auto _ : state) {
    boost::asio::io_context io;
    ironlb::kube::KubeStoreOptions o;
    o.ns = "ironlb-system";
    o.rate_limit = {g_qps, g_qps > 0 ? static_cast<int>(2 * g_qps) : 0};
    ironlb::kube::KubeStore store(io, cfg, o);
    const auto t0 = std::chrono::steady_clock::now();
    store.Start([](const std::vector<ironlb::StoreEvent>&) {});
    while (!store.synced()) io.run_for(5ms);
    const auto synced = std::chrono::steady_clock::now();
    const auto sync_requests = store.client().requests_sent();
    for (int i = 0; i < g_services; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "svc-%05d", i);
      store.WriteStatus({"bench",
                         name,
                         "pool",
                         {*ironlb::IPAddr::Parse("198.18." + std::to_string(i / 256) + "." +
                                                 std::to_string(i % 256))},
                         ""});
    }
    auto all_written = [&] {
      size_t n = 0;
      for (const auto& s : store.snapshot().services) n += !s.ingress.empty();
      return n == static_cast<size_t>(g_services);
    };
    while (!all_written()) io.run_for(5ms);
    const auto written = std::chrono::steady_clock::now();
    const auto before_idle = store.client().requests_sent();
    io.run_for(10s);
    const auto idle_requests = store.client().requests_sent() - before_idle;
    state.counters["sync_s"] = std::chrono::duration<double>(synced - t0).count();
    state.counters["sync_requests"] = static_cast<double>(sync_requests);
    state.counters["status_write_s"] = std::chrono::duration<double>(written - synced).count();
    state.counters["status_requests"] = static_cast<double>(before_idle - sync_requests);
    state.counters["idle_requests_per_s"] = static_cast<double>(idle_requests) / 10.0;
    store.Stop();
    io.run_for(50ms);
  }
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
}
BENCHMARK(BM_KubeStoreScale)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--services=", 11) == 0) {
      g_services = std::atoi(argv[i] + 11);
    } else if (std::strncmp(argv[i], "--qps=", 6) == 0) {
      g_qps = std::atof(argv[i] + 6);
    } else {
      rest.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
