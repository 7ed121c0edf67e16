#include "metrics/metrics.h"

#include <iterator>

#include "metrics/metrics_server.h"

namespace ironlb {

using prometheus::BuildCounter;
using prometheus::BuildGauge;

namespace {

// MetalLB's allocator series end in _total although they are gauges; they keep that name (and
// promtool's complaint) because dashboards match them exactly.
struct PoolSeries {
  const char* name;
  const char* help;
  double Metrics::PoolUsage::*field;
};
constexpr PoolSeries kPoolSeries[] = {
    {"metallb_allocator_addresses_total", "Number of usable IP addresses, per pool",
     &Metrics::PoolUsage::addresses},
    {"metallb_allocator_ipv4_addresses_total", "Number of usable IPv4 addresses, per pool",
     &Metrics::PoolUsage::addresses_v4},
    {"metallb_allocator_ipv6_addresses_total", "Number of usable IPv6 addresses, per pool",
     &Metrics::PoolUsage::addresses_v6},
    {"metallb_allocator_addresses_in_use_total",
     "Number of IP addresses in use, per pool (a shared address counts once)",
     &Metrics::PoolUsage::in_use},
    {"metallb_allocator_ipv4_addresses_in_use_total", "Number of IPv4 addresses in use, per pool",
     &Metrics::PoolUsage::in_use_v4},
    {"metallb_allocator_ipv6_addresses_in_use_total", "Number of IPv6 addresses in use, per pool",
     &Metrics::PoolUsage::in_use_v6},
    {"ironlb_allocator_services", "Services holding addresses from the pool",
     &Metrics::PoolUsage::services},
};

}  // namespace

Metrics::Metrics(const std::string& listen, MetricsTls tls)
    : Metrics(listen, std::move(tls), std::make_shared<prometheus::Registry>()) {}

Metrics::~Metrics() = default;

Metrics::Metrics(const std::string& listen, MetricsTls tls,
                 std::shared_ptr<prometheus::Registry> reg)
    : config_loaded(BuildGauge()
                        .Name("metallb_k8s_client_config_loaded_bool")
                        .Help("1 if a configuration was loaded at least once")
                        .Register(*reg)
                        .Add({})),
      config_stale(BuildGauge()
                       .Name("metallb_k8s_client_config_stale_bool")
                       .Help("1 if running on a stale configuration, because the latest one has "
                             "errors (objects in error keep their last valid version)")
                       .Register(*reg)
                       .Add({})),
      config_updates(BuildCounter()
                         .Name("metallb_k8s_client_updates_total")
                         .Help("Number of object updates that have been processed")
                         .Register(*reg)
                         .Add({})),
      config_update_errors(BuildCounter()
                               .Name("metallb_k8s_client_update_errors_total")
                               .Help("Number of object updates that failed for some reason")
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
      registry_(std::move(reg)) {
  pool_mirrors_.reserve(std::size(kPoolSeries));
  for (const auto& s : kPoolSeries)
    pool_mirrors_.emplace_back(BuildGauge().Name(s.name).Help(s.help).Register(*registry_), "pool");
  if (!listen.empty()) {
    MetricsSources sources;
    sources.collect = [this] { return CollectExtra(); };
    sources.healthz = [this] { return health_.Live(); };
    sources.readyz = [this] { return health_.Ready(); };
    server_ =
        std::make_unique<MetricsServer>(listen, registry_, std::move(sources), std::move(tls));
  }
}

void Metrics::AddCollectable(std::weak_ptr<prometheus::Collectable> c) {
  std::lock_guard lock(collectables_mu_);
  collectables_.push_back(std::move(c));
}

std::vector<prometheus::MetricFamily> Metrics::Collect() const {
  auto out = registry_->Collect();
  auto extra = CollectExtra();
  std::move(extra.begin(), extra.end(), std::back_inserter(out));
  return out;
}

std::vector<prometheus::MetricFamily> Metrics::CollectExtra() const {
  // Collected outside the lock: a data-plane read takes milliseconds.
  std::vector<std::shared_ptr<prometheus::Collectable>> live;
  {
    std::lock_guard lock(collectables_mu_);
    for (const auto& w : collectables_)
      if (auto c = w.lock()) live.push_back(std::move(c));
  }
  std::vector<prometheus::MetricFamily> out;
  for (const auto& c : live) {
    auto f = c->Collect();
    std::move(f.begin(), f.end(), std::back_inserter(out));
  }
  return out;
}

void Metrics::SetPoolUsage(const std::map<std::string, PoolUsage>& pools) {
  for (size_t i = 0; i < std::size(kPoolSeries); ++i) {
    std::map<std::string, double> values;
    for (const auto& [name, u] : pools) values[name] = u.*kPoolSeries[i].field;
    pool_mirrors_[i].Update(values);
  }
}

}  // namespace ironlb
