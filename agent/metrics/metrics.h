// Prometheus metrics of the control plane (config state, allocator usage, reconcile counts),
// served by prometheus-cpp's exposer on --metrics-addr. Data-plane counters live in BPF maps.
#pragma once

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace ironlb {

class Metrics {
 public:
  // `listen` is "host:port" (e.g. "0.0.0.0:7472"); empty disables the HTTP endpoint but keeps
  // the registry, so code can record unconditionally.
  explicit Metrics(const std::string& listen);

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

 private:
  Metrics(const std::string& listen, std::shared_ptr<prometheus::Registry> reg);
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace ironlb
