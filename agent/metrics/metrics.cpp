#include "metrics/metrics.h"

#include "metrics/metrics_server.h"

namespace ironlb {

using prometheus::BuildCounter;
using prometheus::BuildGauge;

Metrics::Metrics(const std::string& listen)
    : Metrics(listen, std::make_shared<prometheus::Registry>()) {}

Metrics::~Metrics() = default;

Metrics::Metrics(const std::string& listen, std::shared_ptr<prometheus::Registry> reg)
    : config_loaded(BuildGauge()
                        .Name("ironlb_config_loaded_bool")
                        .Help("1 if the latest configuration loaded without errors")
                        .Register(*reg)
                        .Add({})),
      config_errors(BuildGauge()
                        .Name("ironlb_config_errors")
                        .Help("Configuration errors currently in force (see ironlbctl config show)")
                        .Register(*reg)
                        .Add({})),
      config_reloads(BuildCounter()
                         .Name("ironlb_config_reloads_total")
                         .Help("Times the configuration was re-read")
                         .Register(*reg)
                         .Add({})),
      pool_addresses(BuildGauge()
                         .Name("ironlb_allocator_addresses_total")
                         .Help("Usable addresses in the pool")
                         .Register(*reg)),
      pool_in_use(BuildGauge()
                      .Name("ironlb_allocator_addresses_in_use_total")
                      .Help("Addresses of the pool assigned to Services")
                      .Register(*reg)),
      pool_services(BuildGauge()
                        .Name("ironlb_allocator_services")
                        .Help("Services holding addresses from the pool")
                        .Register(*reg)),
      services_pending(BuildGauge()
                           .Name("ironlb_services_pending")
                           .Help("LoadBalancer Services that could not get an address")
                           .Register(*reg)
                           .Add({})),
      reconciles(BuildCounter()
                     .Name("ironlb_reconciles_total")
                     .Help("Reconcile passes run")
                     .Register(*reg)
                     .Add({})),
      registry_(std::move(reg)),
      pool_addresses_mirror_(pool_addresses, "pool"),
      pool_in_use_mirror_(pool_in_use, "pool"),
      pool_services_mirror_(pool_services, "pool") {
  if (!listen.empty()) {
    server_ = std::make_unique<MetricsServer>(listen, registry_);
  }
}

void Metrics::SetPoolUsage(const std::map<std::string, PoolUsage>& pools) {
  std::map<std::string, double> addresses, in_use, services;
  for (const auto& [name, u] : pools) {
    addresses[name] = u.addresses;
    in_use[name] = u.in_use;
    services[name] = u.services;
  }
  pool_addresses_mirror_.Update(addresses);
  pool_in_use_mirror_.Update(in_use);
  pool_services_mirror_.Update(services);
}

}  // namespace ironlb
