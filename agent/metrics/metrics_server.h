// The /metrics, /healthz and /readyz HTTP endpoints on their own thread and io_context: every
// connection is asynchronous with a deadline, so idle or slow clients cannot hold the endpoint
// the way they held civetweb's few worker threads, and a busy agent loop never delays a scrape.
#pragma once

#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace ironlb {

// A request must arrive, and its answer leave, within this time (Prometheus' default scrape
// timeout is 10 s).
inline constexpr std::chrono::seconds kMetricsConnectionTimeout{3};
// Connections served at once; the oldest is closed to make room for a new one.
inline constexpr size_t kMetricsMaxConnections = 64;

// The answer of a health probe: 200 with `detail` when ok, else 503 with `detail`.
struct ProbeResult {
  bool ok = true;
  std::string detail;
};

// What the server answers beyond the registry. Every function is called on the server's thread
// and must be safe to call from there.
struct MetricsSources {
  // Families read at scrape time (per-CPU BPF counters), appended to the registry's.
  std::function<std::vector<prometheus::MetricFamily>()> collect;
  // /healthz and /readyz; unset: 404.
  std::function<ProbeResult()> healthz, readyz;
};

// HTTPS instead of HTTP (MetalLB serves its metrics over TLS since 0.16). PEM files; the
// certificate file may carry the chain after the leaf. With `client_ca` set, clients must present
// a certificate signed by it (mutual TLS). The files are read again when they change on disk
// (cert-manager rotates them in place), checked at most once per kTlsReloadCheck; a new pair
// that does not load or match is logged and the previous one kept.
struct MetricsTls {
  std::string cert_file, key_file, client_ca;
  bool enabled() const { return !cert_file.empty(); }
};
inline constexpr std::chrono::seconds kTlsReloadCheck{1};

class MetricsServer {
 public:
  // `listen` is "host:port", "[v6]:port" or ":port"; throws std::runtime_error when it cannot
  // be parsed or bound, or when the TLS files cannot be loaded (naming the file and why).
  MetricsServer(const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
                MetricsSources sources = {}, MetricsTls tls = {});
  ~MetricsServer();

  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  uint16_t port() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
};

}  // namespace ironlb
