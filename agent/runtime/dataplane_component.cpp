#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <boost/asio/steady_timer.hpp>

#include "dataplane/dataplane.h"
#include "dataplane/map_dump.h"
#include "metrics/mirror.h"
#include "runtime/components.h"
#include "runtime/log.h"
#include "runtime/periodic.h"

namespace ironlb {

namespace {

// The data plane counts in per-CPU BPF maps; Prometheus sees them through counters refreshed
// on this period (a scrape every 15-30 s is usual, so this adds at most a few seconds of lag).
constexpr auto kMetricsPeriod = std::chrono::seconds(5);

class DataplaneComponent : public SpeakerComponent {
 public:
  DataplaneComponent(boost::asio::io_context& io, std::unique_ptr<dataplane::Dataplane> dp,
                     std::string node, std::string bpffs)
      : dp_(std::move(dp)),
        node_(std::move(node)),
        bpffs_(std::move(bpffs)),
        refresh_(io, kMetricsPeriod) {}

  std::string name() const override { return "dataplane"; }

  void Apply(const Model& model) override {
    const auto& st = dp_->Apply(dataplane::ComputeDesired(model, node_));
    ReportRefusals(st.refused);
    if (st.endpoints_over_vip_limit != over_vip_limit_) {
      for (const auto& e : st.endpoints_over_vip_limit)
        log::Warn("dataplane", e + " serves more than " + std::to_string(LB_ENDPOINT_VIPS) +
                                   " VIP:ports: replies to the others are not translated");
      over_vip_limit_ = st.endpoints_over_vip_limit;
    }
  }

  void BindEvents(std::function<void(const ObjectEvent&)> emit) override {
    emit_ = std::move(emit);
  }

  nlohmann::json Status() const override { return dp_->Status(); }

  void BindMetrics(prometheus::Registry& reg) override {
    auto counter = [&reg](const char* name, const char* help) -> auto& {
      return prometheus::BuildCounter().Name(name).Help(help).Register(reg);
    };
    reasons_.emplace(
        counter(
            "ironlb_dataplane_packets_total",
            "Packets the XDP/tc programs handled, by outcome (pass_*, tx_* "
            "ARP/NDP replies, fwd_* to an endpoint or its node, decap, drop_* by reason, revnat)"),
        "reason");
    service_packets_.emplace(counter("ironlb_dataplane_service_packets_total",
                                     "Packets to a VIP:port/proto sent to an endpoint"),
                             "service");
    service_bytes_.emplace(counter("ironlb_dataplane_service_bytes_total",
                                   "Bytes to a VIP:port/proto sent to an endpoint"),
                           "service");
    backend_packets_.emplace(
        counter("ironlb_dataplane_backend_packets_total", "Packets sent to an endpoint"),
        "backend");
    backend_bytes_.emplace(
        counter("ironlb_dataplane_backend_bytes_total", "Bytes sent to an endpoint"), "backend");
    refused_ = &prometheus::BuildGauge()
                    .Name("ironlb_dataplane_services_refused")
                    .Help(
                        "VIP:port/protocol entries not in the data plane for want of map room "
                        "(see --max-services, --max-endpoints)")
                    .Register(reg)
                    .Add({});
    refresh_.Start([this] { Refresh(); });
  }

  void Shutdown(std::function<void()> done) override {
    refresh_.Cancel();
    // Programs stay attached and maps pinned: traffic keeps flowing while the agent restarts
    // or upgrades, and the next agent adopts them. `ironlbctl` can still read the maps.
    log::Info("dataplane", "leaving XDP programs attached and maps pinned for the next agent");
    done();
  }

 private:
  // Each refusal is logged and reported once when it starts and once when it ends, not on every
  // pass: a full table lasts until the operator acts.
  void ReportRefusals(const std::vector<dataplane::Refusal>& now) {
    std::map<std::string, const dataplane::Refusal*> current;
    for (const auto& r : now) current[r.key] = &r;
    for (const auto& [key, r] : current) {
      if (refused_keys_.count(key)) continue;
      log::Error("dataplane", r->name + " (" + key + ") not served: " + r->reason);
      if (emit_)
        emit_({r->service, ObjectEvent::Type::kWarning, "DataplaneFull",
               "VIP " + key + " is not in the data plane of this node: " + r->reason});
    }
    for (const auto& [key, name] : refused_keys_)
      if (!current.count(key)) log::Info("dataplane", name + " (" + key + ") now served");
    refused_keys_.clear();
    for (const auto& [key, r] : current) refused_keys_[key] = r->name;
    if (refused_) refused_->Set(static_cast<double>(now.size()));
  }

  void Refresh() {
    // Neighbour entries of the nodes flows are encapsulated to, kept resolved (see ProbeTunnels):
    // a link flap flushes them, and XDP cannot ask for them itself.
    dp_->ProbeTunnels();
    try {
      const dataplane::PinnedMaps maps(bpffs_);
      const nlohmann::json st = dataplane::DumpStats(maps);
      std::map<std::string, uint64_t> reasons, svc_p, svc_b, be_p, be_b;
      for (const auto& [reason, c] : st["reasons"].items()) reasons[reason] = c["packets"];
      for (const auto& v : st["vips"]) {
        svc_p[v["service"]] = v["stats"]["packets"];
        svc_b[v["service"]] = v["stats"]["bytes"];
      }
      for (const auto& b : st["backends"]) {
        be_p[b["backend"]] = b["stats"]["packets"];
        be_b[b["backend"]] = b["stats"]["bytes"];
      }
      reasons_->Update(reasons);
      service_packets_->Update(svc_p);
      service_bytes_->Update(svc_b);
      backend_packets_->Update(be_p);
      backend_bytes_->Update(be_b);
      warned_ = false;
    } catch (const std::exception& e) {
      if (!warned_)
        log::Warn("dataplane", std::string("cannot read counters for metrics: ") + e.what());
      warned_ = true;  // once per outage, not every period
    }
  }

  std::unique_ptr<dataplane::Dataplane> dp_;
  std::string node_;
  std::string bpffs_;
  Periodic refresh_;
  std::optional<CounterMirror> reasons_, service_packets_, service_bytes_, backend_packets_,
      backend_bytes_;
  bool warned_ = false;
  prometheus::Gauge* refused_ = nullptr;
  std::map<std::string, std::string> refused_keys_;  // VIP key -> service name
  std::vector<std::string> over_vip_limit_;          // as last logged
  std::function<void(const ObjectEvent&)> emit_;
};

}  // namespace

std::unique_ptr<SpeakerComponent> MakeDataplaneComponent(boost::asio::io_context& io,
                                                         const AgentOptions& opts) {
  dataplane::DataplaneOptions o;
  o.bpffs = opts.bpffs;
  o.interfaces = opts.interfaces;
  o.max_services = opts.max_services;
  o.max_backends = opts.max_endpoints;
  o.nexthop_cache_ns = uint64_t{opts.nexthop_cache_ms} * 1000000;
  o.mode = opts.xdp_mode == "native"    ? dataplane::DataplaneOptions::XdpMode::kNative
           : opts.xdp_mode == "generic" ? dataplane::DataplaneOptions::XdpMode::kGeneric
                                        : dataplane::DataplaneOptions::XdpMode::kAuto;
  return std::make_unique<DataplaneComponent>(io, dataplane::Dataplane::Open(o), opts.node,
                                              opts.bpffs);
}

}  // namespace ironlb
