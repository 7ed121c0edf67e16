#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "dataplane/dataplane.h"
#include "dataplane/map_dump.h"
#include "metrics/family.h"
#include "runtime/components.h"
#include "runtime/latest_worker.h"
#include "runtime/log.h"
#include "runtime/periodic.h"

namespace ironlb {

namespace {

// How often the nodes endpoints are encapsulated to are probed (their neighbour entries).
constexpr auto kProbePeriod = std::chrono::seconds(5);

using prometheus::MetricType;

// The data plane counts in per-CPU BPF maps; each scrape reads and sums them then, so a scrape
// sees the packet it caused and nothing is copied on a timer. Runs on the metrics thread: it
// opens the pins itself and shares nothing with the component on the io_context.
class DataplaneCollectable : public prometheus::Collectable {
 public:
  explicit DataplaneCollectable(std::string bpffs) : bpffs_(std::move(bpffs)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    try {
      const dataplane::PinnedMaps maps(bpffs_);
      const nlohmann::json st = dataplane::DumpStats(maps.ops());
      auto reasons = MakeFamily(
          "ironlb_dataplane_packets_total",
          "Packets the XDP/tc programs handled, by outcome (pass_*, tx_* "
          "ARP/NDP replies, fwd_* to an endpoint or its node, decap, drop_* by reason, revnat)",
          MetricType::Counter);
      auto svc_p =
          MakeFamily("ironlb_dataplane_service_packets_total",
                     "Packets to a VIP:port/proto sent to an endpoint", MetricType::Counter);
      auto svc_b = MakeFamily("ironlb_dataplane_service_bytes_total",
                              "Bytes to a VIP:port/proto sent to an endpoint", MetricType::Counter);
      auto be_p = MakeFamily("ironlb_dataplane_backend_packets_total",
                             "Packets sent to an endpoint", MetricType::Counter);
      auto be_b = MakeFamily("ironlb_dataplane_backend_bytes_total", "Bytes sent to an endpoint",
                             MetricType::Counter);
      for (const auto& [reason, c] : st["reasons"].items())
        AddSample(reasons, {{"reason", reason}}, c["packets"].get<double>());
      for (const auto& v : st["vips"]) {
        AddSample(svc_p, {{"service", v["service"]}}, v["stats"]["packets"].get<double>());
        AddSample(svc_b, {{"service", v["service"]}}, v["stats"]["bytes"].get<double>());
      }
      for (const auto& b : st["backends"]) {
        AddSample(be_p, {{"backend", b["backend"]}}, b["stats"]["packets"].get<double>());
        AddSample(be_b, {{"backend", b["backend"]}}, b["stats"]["bytes"].get<double>());
      }
      const auto ct = dataplane::ConntrackOccupancy(maps.ops());
      auto ct_entries = MakeFamily("ironlb_dataplane_conntrack_entries",
                                   "Flows in the XDP conntrack LRU", MetricType::Gauge);
      AddSample(ct_entries, {}, static_cast<double>(ct.entries));
      auto ct_capacity = MakeFamily("ironlb_dataplane_conntrack_capacity",
                                    "Flows the XDP conntrack LRU holds before it evicts the least "
                                    "recently used",
                                    MetricType::Gauge);
      AddSample(ct_capacity, {}, static_cast<double>(ct.capacity));
      warned_ = false;
      return {std::move(reasons), std::move(svc_p),      std::move(svc_b),      std::move(be_p),
              std::move(be_b),    std::move(ct_entries), std::move(ct_capacity)};
    } catch (const std::exception& e) {
      if (!warned_.exchange(true))  // once per outage, not every scrape
        log::Warn("dataplane", std::string("cannot read counters for metrics: ") + e.what());
      return {};
    }
  }

 private:
  std::string bpffs_;
  mutable std::atomic<bool> warned_{false};
};

// The map writes of a large change take seconds (10,000 Services: 2.4 s measured in the ASan
// build), and the event loop also carries BGP keepalives, BFD and the local API: so the loop only
// computes the desired state (pure) and hands it over; the worker thread owns the Dataplane and
// applies the newest desired state it was given, and posts what it did back to the loop.
//
// Ownership: `dp_` is touched only on the worker thread (first pass included: the loop waits for
// it), except Detached(), ReasonCounts() and the TcGuard, which read what Open() fixed. Every other
// member belongs to the event loop; results reach it by boost::asio::post.
class DataplaneComponent : public SpeakerComponent {
 public:
  DataplaneComponent(boost::asio::io_context& io, std::unique_ptr<dataplane::Dataplane> dp,
                     std::string node, std::string bpffs)
      : io_(io),
        dp_(std::move(dp)),
        node_(std::move(node)),
        collectable_(std::make_shared<DataplaneCollectable>(std::move(bpffs))),
        status_(dp_->Status()),  // before the worker exists: nothing else touches dp_ yet
        tc_guard_(dp_->MakeTcGuard()),
        worker_([this, alive = std::weak_ptr<bool>(alive_)](Job& job) { Work(job, alive); }),
        probe_(io, kProbePeriod),
        tc_check_(io, dataplane::TcGuard::kPeriod) {
    // Neighbour entries of the nodes flows are encapsulated to, kept resolved (see
    // dataplane/node_neighbours.h): XDP cannot ask for them itself. Checked now and then, and at
    // once when an entry goes (a link flap flushes them all) or a link comes back.
    probe_.Start([this] { worker_.Post([](Job& j) { j.probe = true; }); });
    // On the loop, not the worker: a long apply must not let the tc_lb_ingress vouch lapse, and
    // the guard touches only what Open() fixed. The first check runs now, before the first apply.
    if (tc_guard_)
      tc_check_.Start([this] {
        tc_guard_->Check();
        UpdateTcMetrics();
      });
    try {
      watch_ = std::make_unique<dataplane::NeighbourWatch>(io, [this](bool link_up) {
        worker_.Post([link_up](Job& j) {
          j.probe = true;
          j.link_up = j.link_up || link_up;
        });
      });
    } catch (const std::exception& e) {
      log::Warn("dataplane",
                std::string("no neighbour events (checked every 5 s only): ") + e.what());
    }
  }

  ~DataplaneComponent() override {
    worker_.Stop();  // before anything the worker's job could touch goes
    *alive_ = false;
  }

  std::string name() const override { return "dataplane"; }

  void Apply(const Model& model) override {
    const auto t0 = std::chrono::steady_clock::now();
    auto desired =
        std::make_shared<const dataplane::DesiredDataplane>(desired_cache_.Compute(model, node_));
    const double desired_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto edit = [&](Job& j) {
      j.desired = desired;  // a newer model replaces one still waiting: only the latest counts
      j.desired_s = desired_s;
    };
    if (first_) {
      // The first pass (start, restart adoption) completes before the agent reports ready and
      // before BGP opens any session; a kernel error in it fails the pass, as it always has.
      auto result = std::make_shared<Result>();
      worker_.PostAndWait([&](Job& j) {
        edit(j);
        j.answer = result;
      });
      Applied(*result);
      first_ = false;
      if (!result->error.empty()) throw std::runtime_error(result->error);
      return;
    }
    worker_.Post(edit);
  }

  void BindEvents(std::function<void(const ObjectEvent&)> emit) override {
    emit_ = std::move(emit);
  }

  nlohmann::json Status() const override {
    nlohmann::json j = status_;
    // Counters are live (read from the kernel now); the rest is as of the last apply.
    if (j.contains("reasons")) j["reasons"] = dp_->ReasonCounts();
    j["apply_pending"] = worker_.Busy();
    if (tc_guard_) j["tc"] = tc_guard_->Status();  // as of the last check, at most a second old
    return j;
  }

  std::shared_ptr<prometheus::Collectable> ScrapeCollectable() override { return collectable_; }

  std::string NotReady() const override {
    std::string out;
    for (const auto& ifc : dp_->Detached())
      out += (out.empty() ? "XDP not attached on " : ", ") + ifc;
    return out;
  }

  void BindMetrics(prometheus::Registry& reg) override {
    refused_ = &prometheus::BuildGauge()
                    .Name("ironlb_dataplane_services_refused")
                    .Help(
                        "VIP:port/protocol entries not in the data plane for want of map room "
                        "(see --max-services, --max-endpoints)")
                    .Register(reg)
                    .Add({});
    // From the model to the maps: desired state, diff and the map writes of one pass.
    sync_seconds_ =
        &prometheus::BuildHistogram()
             .Name("ironlb_dataplane_sync_duration_seconds")
             .Help(
                 "Time to bring the BPF maps to a new model (desired state, diff, "
                 "map writes), per reconcile pass")
             .Register(reg)
             .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.0003, 0.001, 0.003, 0.01,
                                                              0.03, 0.1, 0.3, 1, 3, 10});
    tables_written_ = &prometheus::BuildCounter()
                           .Name("ironlb_dataplane_maglev_tables_written_total")
                           .Help(
                               "Maglev tables rebuilt and written to the maps (a service's "
                               "endpoint set changed, or it was added)")
                           .Register(reg)
                           .Add({});
    tc_attached_ = &prometheus::BuildGauge()
                        .Name("ironlb_dataplane_tc_attached")
                        .Help(
                            "1 while ironlb's tc program runs at the interface's hook (ingress: "
                            "tc_lb_ingress, egress: tc_lb_egress), as checked every second")
                        .Register(reg);
    tc_reattached_ = &prometheus::BuildCounter()
                          .Name("ironlb_dataplane_tc_reattached_total")
                          .Help(
                              "Times the agent found ironlb's tc program missing from an "
                              "interface's hook and attached it again")
                          .Register(reg);
    UpdateTcMetrics();
  }

  void Shutdown(std::function<void()> done) override {
    probe_.Cancel();
    // The vouch is left to lapse by itself: tc_lb_ingress stays attached for the next agent,
    // which renews it at its start, and an agent that never comes back stops hand-offs within
    // TcGuard::kVouch.
    tc_check_.Cancel();
    watch_.reset();
    // The apply in hand finishes (maps are always left whole); one still waiting is dropped:
    // the next agent reconciles the whole model anyway. The other components have stopped.
    worker_.Stop();
    // Programs stay attached and maps pinned: traffic keeps flowing while the agent restarts
    // or upgrades, and the next agent adopts them. `ironlbctl` can still read the maps.
    log::Info("dataplane", "leaving XDP programs attached and maps pinned for the next agent");
    done();
  }

 private:
  // What an apply did, for the loop.
  struct Result {
    dataplane::SyncStats stats;
    nlohmann::json status;
    double seconds = 0;
    std::string error;
  };

  // What the loop hands the worker: the newest desired state (if any since the last job) and
  // whether the nodes' neighbour entries are due for a check.
  struct Job {
    std::shared_ptr<const dataplane::DesiredDataplane> desired;
    double desired_s = 0;  // time the loop spent computing it
    bool probe = false;
    bool link_up = false;  // a link's carrier came back since the last probe
    // Set by a loop that waits for the result (the first pass): filled in instead of posted.
    std::shared_ptr<Result> answer;
  };
  // On the worker thread.
  void Work(Job& job, const std::weak_ptr<bool>& alive) {
    if (job.probe) dp_->KeepNeighbours(job.link_up);
    if (!job.desired) return;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = job.answer ? job.answer : std::make_shared<Result>();
    try {
      r->stats = dp_->Apply(*job.desired);
    } catch (const std::exception& e) {
      r->error = e.what();
    }
    r->status = dp_->Status();
    r->seconds = job.desired_s +
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (job.answer) return;  // the loop is waiting for it
    boost::asio::post(io_, [this, alive, r] {
      if (!alive.expired()) Applied(*r);
    });
  }

  // On the loop: the guard's last check becomes gauges, its reattachments counter increments.
  void UpdateTcMetrics() {
    if (!tc_guard_ || !tc_attached_) return;
    for (const auto& s : tc_guard_->State()) {
      for (auto hook : {dataplane::TcHook::kIngress, dataplane::TcHook::kEgress}) {
        const bool ingress = hook == dataplane::TcHook::kIngress;
        const std::map<std::string, std::string> labels{{"interface", s.name},
                                                        {"hook", dataplane::TcHookName(hook)}};
        tc_attached_->Add(labels).Set((ingress ? s.ingress : s.egress) ? 1 : 0);
        auto& counter = tc_reattached_->Add(labels);
        const uint64_t total = ingress ? s.reattached_ingress : s.reattached_egress;
        if (total > counter.Value())
          counter.Increment(static_cast<double>(total) - counter.Value());
      }
    }
  }

  // On the loop: what one apply did becomes logs, events and metrics.
  void Applied(const Result& r) {
    status_ = r.status;
    // A failed first pass is reported by the agent (it throws from Apply); a later one here, in
    // the agent's words. The next change retries.
    if (!r.error.empty() && !first_) log::Error("dataplane", "apply failed: " + r.error);
    if (sync_seconds_) sync_seconds_->Observe(r.seconds);
    if (r.seconds > kSlowApply.count())
      log::Info("dataplane", "maps synced in " + std::to_string(std::lround(r.seconds * 1000)) +
                                 " ms (off the event loop)");
    const auto& st = r.stats;
    if (tables_written_) tables_written_->Increment(static_cast<double>(st.tables_written));
    ReportRefusals(st.refused);
    if (st.endpoints_over_vip_limit != over_vip_limit_) {
      for (const auto& e : st.endpoints_over_vip_limit)
        log::Warn("dataplane", e + " serves more than " + std::to_string(LB_ENDPOINT_VIPS) +
                                   " VIP:ports: replies to the others are not translated");
      over_vip_limit_ = st.endpoints_over_vip_limit;
    }
  }

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

  // An apply slower than this says so in the log (the agent's "reconcile took" no longer sees it).
  static constexpr std::chrono::duration<double> kSlowApply{0.1};

  boost::asio::io_context& io_;
  std::unique_ptr<dataplane::Dataplane> dp_;  // the worker's (see the class comment)
  std::string node_;
  dataplane::DesiredCache desired_cache_;  // the loop's: only Services that changed are recomputed
  std::shared_ptr<DataplaneCollectable> collectable_;
  nlohmann::json status_;  // Dataplane::Status() as of the last apply
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool first_ = true;
  prometheus::Gauge* refused_ = nullptr;
  prometheus::Histogram* sync_seconds_ = nullptr;
  prometheus::Counter* tables_written_ = nullptr;
  std::map<std::string, std::string> refused_keys_;  // VIP key -> service name
  std::vector<std::string> over_vip_limit_;          // as last logged
  std::function<void(const ObjectEvent&)> emit_;
  std::unique_ptr<dataplane::TcGuard> tc_guard_;  // the loop's; reads only what Open() fixed
  prometheus::Family<prometheus::Gauge>* tc_attached_ = nullptr;
  prometheus::Family<prometheus::Counter>* tc_reattached_ = nullptr;
  // Last but one: its thread starts once every member above exists, and stops first.
  LatestWorker<Job> worker_;
  Periodic probe_;
  Periodic tc_check_;                                 // runs tc_guard_
  std::unique_ptr<dataplane::NeighbourWatch> watch_;  // on the loop; posts to the worker
};

}  // namespace

std::unique_ptr<SpeakerComponent> MakeDataplaneComponent(boost::asio::io_context& io,
                                                         const AgentOptions& opts) {
  dataplane::DataplaneOptions o;
  o.bpffs = opts.bpffs;
  o.interfaces = opts.interfaces;
  o.max_services = opts.max_services;
  o.max_backends = opts.max_endpoints;
  o.nexthop_table = opts.nexthop_table;
  static_assert(AgentOptions{}.flow_cache_entries == LB_FLOW_CACHE_DEFAULT_ENTRIES);
  o.flow_cache_entries = opts.flow_cache_entries;
  o.mss_clamp_mtu = opts.tcp_mss_clamp_mtu.value_or(LB_MSS_CLAMP_AUTO);  // 0 is LB_MSS_CLAMP_OFF
  o.mode = opts.xdp_mode == "native"    ? dataplane::DataplaneOptions::XdpMode::kNative
           : opts.xdp_mode == "generic" ? dataplane::DataplaneOptions::XdpMode::kGeneric
                                        : dataplane::DataplaneOptions::XdpMode::kAuto;
  return std::make_unique<DataplaneComponent>(io, dataplane::Dataplane::Open(o), opts.node,
                                              opts.bpffs);
}

}  // namespace ironlb
