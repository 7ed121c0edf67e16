#include <prometheus/counter.h>

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

  void Apply(const Config& cfg, const Snapshot& snap) override {
    dp_->Apply(dataplane::ComputeDesired(snap, cfg, node_));
  }

  nlohmann::json Status() const override { return dp_->Status(); }

  void BindMetrics(prometheus::Registry& reg) override {
    auto counter = [&reg](const char* name, const char* help) -> auto& {
      return prometheus::BuildCounter().Name(name).Help(help).Register(reg);
    };
    reasons_.emplace(counter("ironlb_dataplane_packets_total",
                             "Packets the XDP/tc programs handled, by outcome (pass_*, tx_* "
                             "ARP/NDP replies, fwd_* to an endpoint, drop_* by reason, revnat)"),
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
  void Refresh() {
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
};

}  // namespace

std::unique_ptr<SpeakerComponent> MakeDataplaneComponent(boost::asio::io_context& io,
                                                         const AgentOptions& opts) {
  dataplane::DataplaneOptions o;
  o.bpffs = opts.bpffs;
  o.interfaces = opts.interfaces;
  o.nexthop_cache_ns = uint64_t{opts.nexthop_cache_ms} * 1000000;
  o.mode = opts.xdp_mode == "native"    ? dataplane::DataplaneOptions::XdpMode::kNative
           : opts.xdp_mode == "generic" ? dataplane::DataplaneOptions::XdpMode::kGeneric
                                        : dataplane::DataplaneOptions::XdpMode::kAuto;
  return std::make_unique<DataplaneComponent>(io, dataplane::Dataplane::Open(o), opts.node,
                                              opts.bpffs);
}

}  // namespace ironlb
