// Prometheus metrics of the control plane (config state, allocator usage, reconcile counts),
// served on --metrics-addr by MetricsServer (its own thread). Data-plane counters live in BPF maps.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "metrics/mirror.h"

namespace ironlb {

class MetricsServer;

class Metrics {
 public:
  // `listen` is "host:port" (e.g. "0.0.0.0:7472"); empty disables the HTTP endpoint but keeps
  // the registry, so code can record unconditionally.
  explicit Metrics(const std::string& listen);
  ~Metrics();

  prometheus::Registry& registry() { return *registry_; }

  // Config: 1 while the latest configuration is fully valid, and how many errors are in force.
  prometheus::Gauge& config_loaded;
  prometheus::Gauge& config_errors;
  prometheus::Counter& config_reloads;
  // Allocator, per pool.
  prometheus::Family<prometheus::Gauge>& pool_addresses;
  prometheus::Family<prometheus::Gauge>& pool_in_use;
  prometheus::Family<prometheus::Gauge>& pool_services;
  prometheus::Gauge& services_pending;
  prometheus::Counter& reconciles;

  struct PoolUsage {
    double addresses = 0, in_use = 0, services = 0;
  };
  // Sets the three per-pool gauges; the series of pools no longer present are removed, so a
  // deleted pool does not linger in dashboards with its last value.
  void SetPoolUsage(const std::map<std::string, PoolUsage>& pools);

 private:
  Metrics(const std::string& listen, std::shared_ptr<prometheus::Registry> reg);
  std::shared_ptr<prometheus::Registry> registry_;
  GaugeMirror pool_addresses_mirror_, pool_in_use_mirror_, pool_services_mirror_;
  std::unique_ptr<MetricsServer> server_;
};

}  // namespace ironlb
