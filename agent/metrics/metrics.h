// Prometheus metrics of the control plane (config state, allocator usage, reconcile counts) and
// the health probes, served on --metrics-addr by MetricsServer (its own thread). Series keep
// MetalLB's names where the meaning is the same, so its dashboards and alerts work unchanged.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "metrics/health.h"
#include "metrics/metrics_server.h"
#include "metrics/mirror.h"

namespace ironlb {

class Metrics {
 public:
  // `listen` is "host:port" (e.g. "0.0.0.0:7472"); empty disables the HTTP endpoint but keeps
  // the registry, so code can record unconditionally.
  // With `tls` set, the endpoint is HTTPS (see MetricsTls); a bad certificate throws.
  explicit Metrics(const std::string& listen, MetricsTls tls = {});
  ~Metrics();

  prometheus::Registry& registry() { return *registry_; }
  Health& health() { return health_; }
  const Health& health() const { return health_; }

  // Families read at scrape time (the data plane's per-CPU counters), so a scrape sees the
  // packet it caused. Held weakly: a collectable whose owner is gone is skipped.
  void AddCollectable(std::weak_ptr<prometheus::Collectable> c);
  // What a scrape serves: the registry, then every live collectable.
  std::vector<prometheus::MetricFamily> Collect() const;

  // MetalLB's k8s_client family: loaded once any configuration has been accepted; stale while
  // the latest one has errors (objects in error keep their last valid version).
  prometheus::Gauge& config_loaded;
  prometheus::Gauge& config_stale;
  prometheus::Counter& config_updates;
  prometheus::Counter& config_update_errors;
  prometheus::Gauge& config_errors;
  prometheus::Counter& config_reloads;
  prometheus::Gauge& services_pending;
  prometheus::Counter& reconciles;

  struct PoolUsage {
    double addresses = 0, addresses_v4 = 0, addresses_v6 = 0;
    double in_use = 0, in_use_v4 = 0, in_use_v6 = 0;
    double services = 0;
  };
  // Sets the per-pool gauges; the series of pools no longer present are removed, so a deleted
  // pool does not linger in dashboards with its last value.
  void SetPoolUsage(const std::map<std::string, PoolUsage>& pools);

 private:
  Metrics(const std::string& listen, MetricsTls tls, std::shared_ptr<prometheus::Registry> reg);
  std::vector<prometheus::MetricFamily> CollectExtra() const;
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<GaugeMirror> pool_mirrors_;  // one per PoolUsage field, in field order
  Health health_;
  mutable std::mutex collectables_mu_;
  std::vector<std::weak_ptr<prometheus::Collectable>> collectables_;
  std::unique_ptr<MetricsServer> server_;
};

}  // namespace ironlb
