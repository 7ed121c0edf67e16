#include <prometheus/gauge.h>

#include <atomic>
#include <boost/asio/post.hpp>

#include "dataplane/map_ops.h"
#include "l2/heartbeat.h"
#include "l2/plan.h"
#include "l2/service_status.h"
#include "l2/speaker.h"
#include "metrics/family.h"
#include "metrics/mirror.h"
#include "runtime/components.h"
#include "runtime/log.h"
#include "runtime/periodic.h"

namespace ironlb {

namespace {

constexpr auto kMetricsPeriod = std::chrono::seconds(1);
// MetalLB's memberlist Secret keeps its key under this name.
constexpr const char* kSecretKeyField = "secretkey";

// Holds the pinned maps' descriptors for as long as the speaker writes through them.
class PinnedL2Ops : public dataplane::BpfMapOps {
 public:
  explicit PinnedL2Ops(std::unique_ptr<dataplane::PinnedMaps> pins)
      : BpfMapOps(pins->ids()), pins_(std::move(pins)) {}

 private:
  std::unique_ptr<dataplane::PinnedMaps> pins_;
};

// metallb_layer2_requests_received / _responses_sent live in the per-CPU lb_l2_stats map: each
// scrape reads and sums them then, so a scrape sees the ARP request it caused (as the data plane's
// counters). Runs on the metrics thread: it opens the pins itself and asks the speaker only for
// its VIPs, under the speaker's lock. Counters of VIPs the speaker no longer knows are deleted.
class L2Collectable : public prometheus::Collectable {
 public:
  L2Collectable(std::string bpffs, std::weak_ptr<const l2::Speaker> speaker)
      : bpffs_(std::move(bpffs)), speaker_(std::move(speaker)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    const auto speaker = speaker_.lock();
    if (!speaker) return {};
    const auto vips = speaker->KnownVips();
    if (!vips) return {};  // before the first election: would delete every counter
    try {
      const dataplane::PinnedMaps maps(bpffs_);
      // MetalLB's names and label, so its dashboards carry over.
      auto req = MakeFamily("metallb_layer2_requests_received",
                            "ARP requests / Neighbor Solicitations this node received for an IP "
                            "it owns",
                            prometheus::MetricType::Counter);
      auto resp = MakeFamily("metallb_layer2_responses_sent",
                             "ARP replies / Neighbor Advertisements XDP sent for the IP",
                             prometheus::MetricType::Counter);
      for (const auto& [vip, c] : l2::ReadL2Counters(maps.ops(), vips->all)) {
        AddSample(req, {{"ip", vip.str()}}, static_cast<double>(c.requests));
        AddSample(resp, {{"ip", vip.str()}}, static_cast<double>(c.responses));
      }
      warned_ = false;
      return {std::move(req), std::move(resp)};
    } catch (const std::exception& e) {
      if (!warned_.exchange(true))  // once per outage, not every scrape
        log::Warn("l2", std::string("cannot read lb_l2_stats for metrics: ") + e.what());
      return {};
    }
  }

 private:
  std::string bpffs_;
  std::weak_ptr<const l2::Speaker> speaker_;
  mutable std::atomic<bool> warned_{false};
};

class L2Component : public SpeakerComponent {
 public:
  // `key_secret`: "NAMESPACE/NAME" of the Secret the heartbeat key is read from ("" for none).
  L2Component(boost::asio::io_context& io, l2::SpeakerOptions o,
              std::unique_ptr<dataplane::MapOps> ops, std::string bpffs, std::string key_secret)
      : io_(io),
        node_(o.node),
        bpffs_(std::move(bpffs)),
        key_secret_(std::move(key_secret)),
        refresh_(io, kMetricsPeriod) {
    // Events come from the speaker's thread; the store is the agent loop's.
    speaker_ =
        std::make_shared<l2::Speaker>(std::move(o), std::move(ops), [this](const ObjectEvent& ev) {
          boost::asio::post(io_, [this, ev] {
            if (emit_) emit_(ev);
            ReportAnnouncements();  // an owner change: ServiceL2Status follows at once
          });
        });
    collectable_ = std::make_shared<L2Collectable>(bpffs_, speaker_);
  }

  std::string name() const override { return "l2"; }

  std::shared_ptr<prometheus::Collectable> ScrapeCollectable() override { return collectable_; }

  void Apply(const Model& model) override {
    if (!key_secret_.empty()) FollowKeySecret(model);
    speaker_->SetPlan(l2::ComputePlan(model, node_));
    if (!started_) {
      started_ = true;
      speaker_->Start();
    }
  }

  nlohmann::json Status() const override { return speaker_->Status(); }

  void BindEvents(std::function<void(const ObjectEvent&)> emit) override {
    emit_ = std::move(emit);
  }

  void BindAnnouncements(std::function<void(const NodeAnnouncements&)> report) override {
    report_ = std::move(report);
  }

  void BindMetrics(prometheus::Registry& reg) override {
    owner_changes_ = &prometheus::BuildCounter()
                          .Name("ironlb_l2_owner_changes_total")
                          .Help("Times a VIP's L2 owner changed, as this node saw it")
                          .Register(reg)
                          .Add({});
    // Per VIP, for the flapping alert: one node failing moves many VIPs once each, which the
    // total above cannot tell from one VIP moving back and forth.
    vip_moves_.emplace(prometheus::BuildCounter()
                           .Name("ironlb_l2_vip_owner_changes_total")
                           .Help("Times the VIP's L2 owner changed, as this node saw it")
                           .Register(reg),
                       "ip");
    // MetalLB's name and label, so its dashboards carry over.
    gratuitous_.emplace(prometheus::BuildCounter()
                            .Name("metallb_layer2_gratuitous_sent")
                            .Help("Gratuitous ARP / unsolicited NA frames sent for the IP")
                            .Register(reg),
                        "ip");
    conflicts_.emplace(prometheus::BuildCounter()
                           .Name("ironlb_l2_conflicts_total")
                           .Help("ARP frames and Neighbor Advertisements in which another MAC "
                                 "claimed an IP this node owns")
                           .Register(reg),
                       "ip");
    // The BGP component adds protocol="bgp" series to the same family (the registry merges
    // families by name).
    announced_.emplace(prometheus::BuildGauge()
                           .Name("metallb_speaker_announced")
                           .Help("Services being announced from this node (1 while announced), "
                                 "by protocol")
                           .Register(reg));
    rejected_.emplace(prometheus::BuildCounter()
                          .Name("ironlb_l2_heartbeats_rejected_total")
                          .Help("L2 heartbeats ignored, by reason (bad_mac, replay, unconfirmed: a "
                                "first contact not echoing this boot, once per peer at start, "
                                "unknown_node, wrong_address, malformed)")
                          .Register(reg),
                      "reason");
    refresh_.Start([this] { Refresh(); });
  }

  void Shutdown(std::function<void()> done) override {
    refresh_.Cancel();
    log::Info("l2", "leaving: telling peers, silencing this node's VIPs");
    speaker_->Stop();
    done();
  }

 private:
  // The key in the Secret's `secretkey` field, as MetalLB's memberlist Secret holds it. A Secret
  // that disappears or goes bad leaves the last good key in use: failover keeps working.
  void FollowKeySecret(const Model& model) {
    const auto slash = key_secret_.find('/');
    const std::string ns = key_secret_.substr(0, slash), name = key_secret_.substr(slash + 1);
    std::string problem;
    std::vector<uint8_t> key;
    const Secret* found = nullptr;
    for (const Secret& s : model.snap().secrets)
      if (s.meta.ns == ns && s.meta.name == name) found = &s;
    if (!found) {
      problem = "not found (the agent sees Secrets of its own namespace only)";
    } else if (auto it = found->data.find(kSecretKeyField); it == found->data.end()) {
      problem = std::string("has no ") + kSecretKeyField + " field";
    } else if (it->second.size() < l2::kMinKeyLen) {
      problem = std::string("holds a ") + kSecretKeyField + " shorter than " +
                std::to_string(l2::kMinKeyLen) + " bytes";
    } else {
      key.assign(it->second.begin(), it->second.end());
    }
    if (!problem.empty()) {
      if (problem != key_problem_)
        log::Warn("l2", "Secret " + key_secret_ + " " + problem +
                            (key_.empty() ? ": no heartbeats, so no failover"
                                          : ": keeping the last key"));
      key_problem_ = problem;
      return;
    }
    key_problem_.clear();
    if (key == key_) return;
    key_ = key;
    speaker_->SetKey(std::move(key));
  }

  // MetalLB's ServiceL2Status: the Services this node owns a VIP of, reported when that changes
  // (owner changes post here; the periodic refresh catches plan changes too).
  void ReportAnnouncements() {
    if (!report_) return;
    const auto vips = speaker_->KnownVips();
    if (!vips) return;  // before the first election: would remove every status
    NodeAnnouncements now = l2::ServiceAnnouncements(vips->owners, node_);
    if (reported_ && now == *reported_) return;
    report_(now);
    reported_ = std::move(now);
  }

  void Refresh() {
    ReportAnnouncements();
    const uint64_t changes = speaker_->owner_changes();
    if (owner_changes_ && changes > owner_changes_seen_) {
      owner_changes_->Increment(static_cast<double>(changes - owner_changes_seen_));
      owner_changes_seen_ = changes;
    }
    gratuitous_->Update(speaker_->Gratuitous());
    vip_moves_->Update(speaker_->OwnerMoves());
    rejected_->Update(speaker_->Rejected());
    conflicts_->Update(speaker_->Conflicts());
    // metallb_speaker_announced{service,protocol="layer2",node,ip}: 1 for each Service address
    // this node owns, as MetalLB sets it on the announcing node.
    std::map<prometheus::Labels, double> announced;
    if (const auto vips = speaker_->KnownVips())
      for (const auto& [vip, services] : vips->mine)
        for (const auto& svc : services)
          announced[{{"service", svc.ns + "/" + svc.name},
                     {"protocol", "layer2"},
                     {"node", node_},
                     {"ip", vip.str()}}] = 1;
    announced_->Update(announced);
  }

  boost::asio::io_context& io_;
  std::string node_;
  std::string bpffs_;
  std::string key_secret_;
  std::vector<uint8_t> key_;  // the last key handed to the speaker from the Secret
  std::string key_problem_;   // what is wrong with the Secret now (logged when it changes)
  std::shared_ptr<l2::Speaker> speaker_;
  std::shared_ptr<L2Collectable> collectable_;
  Periodic refresh_;
  bool started_ = false;
  std::function<void(const ObjectEvent&)> emit_;
  std::function<void(const NodeAnnouncements&)> report_;
  std::optional<NodeAnnouncements> reported_;
  prometheus::Counter* owner_changes_ = nullptr;
  uint64_t owner_changes_seen_ = 0;
  std::optional<CounterMirror> gratuitous_, rejected_, conflicts_, vip_moves_;
  std::optional<GaugeSet> announced_;
};

}  // namespace

std::unique_ptr<SpeakerComponent> MakeL2Component(boost::asio::io_context& io,
                                                  const AgentOptions& opts) {
  l2::SpeakerOptions o;
  o.node = opts.node;
  o.interfaces = opts.interfaces;
  o.port = opts.l2_port;
  o.interval = std::chrono::milliseconds(opts.l2_interval_ms);
  o.threshold = opts.l2_threshold;
  if (!opts.l2_key_file.empty()) o.key = l2::LoadKeyFile(opts.l2_key_file);
  if (!opts.l2_key_secret.empty())
    o.key_source = "Secret " + opts.l2_key_secret + " (" + kSecretKeyField + ")";
  auto ops = std::make_unique<PinnedL2Ops>(std::make_unique<dataplane::PinnedMaps>(opts.bpffs));
  return std::make_unique<L2Component>(io, std::move(o), std::move(ops), opts.bpffs,
                                       opts.l2_key_secret);
}

}  // namespace ironlb
