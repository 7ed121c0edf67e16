#include <boost/asio/post.hpp>

#include "dataplane/map_ops.h"
#include "l2/heartbeat.h"
#include "l2/plan.h"
#include "l2/speaker.h"
#include "metrics/mirror.h"
#include "runtime/components.h"
#include "runtime/log.h"
#include "runtime/periodic.h"

namespace ironlb {

namespace {

constexpr auto kMetricsPeriod = std::chrono::seconds(1);

// Holds the pinned maps' descriptors for as long as the speaker writes through them.
class PinnedL2Ops : public dataplane::BpfMapOps {
 public:
  explicit PinnedL2Ops(std::unique_ptr<dataplane::PinnedMaps> pins)
      : BpfMapOps(pins->ids()), pins_(std::move(pins)) {}

 private:
  std::unique_ptr<dataplane::PinnedMaps> pins_;
};

class L2Component : public SpeakerComponent {
 public:
  L2Component(boost::asio::io_context& io, l2::SpeakerOptions o,
              std::unique_ptr<dataplane::MapOps> ops, std::string bpffs)
      : io_(io), node_(o.node), bpffs_(std::move(bpffs)), refresh_(io, kMetricsPeriod) {
    // Events come from the speaker's thread; the store is the agent loop's.
    speaker_ =
        std::make_unique<l2::Speaker>(std::move(o), std::move(ops), [this](const ObjectEvent& ev) {
          boost::asio::post(io_, [this, ev] {
            if (emit_) emit_(ev);
          });
        });
  }

  std::string name() const override { return "l2"; }

  void Apply(const Model& model) override {
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

  void BindMetrics(prometheus::Registry& reg) override {
    owner_changes_ = &prometheus::BuildCounter()
                          .Name("ironlb_l2_owner_changes_total")
                          .Help("Times a VIP's L2 owner changed, as this node saw it")
                          .Register(reg)
                          .Add({});
    // MetalLB's name and label, so its dashboards carry over.
    gratuitous_.emplace(prometheus::BuildCounter()
                            .Name("metallb_layer2_gratuitous_sent")
                            .Help("Gratuitous ARP / unsolicited NA frames sent for the IP")
                            .Register(reg),
                        "ip");
    conflicts_.emplace(prometheus::BuildCounter()
                           .Name("ironlb_l2_conflicts_total")
                           .Help("ARP frames in which another MAC claimed an IP this node owns")
                           .Register(reg),
                       "ip");
    requests_.emplace(prometheus::BuildCounter()
                          .Name("metallb_layer2_requests_received")
                          .Help("ARP requests / Neighbor Solicitations this node received for an "
                                "IP it owns")
                          .Register(reg),
                      "ip");
    responses_.emplace(prometheus::BuildCounter()
                           .Name("metallb_layer2_responses_sent")
                           .Help("ARP replies / Neighbor Advertisements XDP sent for the IP")
                           .Register(reg),
                       "ip");
    rejected_.emplace(prometheus::BuildCounter()
                          .Name("ironlb_l2_heartbeats_rejected_total")
                          .Help("L2 heartbeats ignored, by reason (bad_mac, replay, "
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
  void Refresh() {
    const uint64_t changes = speaker_->owner_changes();
    if (owner_changes_ && changes > owner_changes_seen_) {
      owner_changes_->Increment(static_cast<double>(changes - owner_changes_seen_));
      owner_changes_seen_ = changes;
    }
    gratuitous_->Update(speaker_->Gratuitous());
    rejected_->Update(speaker_->Rejected());
    conflicts_->Update(speaker_->Conflicts());
    try {
      std::set<IPAddr> keep;
      const nlohmann::json status = speaker_->Status();
      for (const auto& v : status["vips"])
        if (auto ip = IPAddr::Parse(v.value("vip", ""))) keep.insert(*ip);
      const dataplane::PinnedMaps maps(bpffs_);
      std::map<std::string, uint64_t> req, resp;
      for (const auto& [vip, c] : l2::ReadL2Counters(maps.fd(LB_MAP_L2_STATS), keep)) {
        req[vip.str()] = c.requests;
        resp[vip.str()] = c.responses;
      }
      requests_->Update(req);
      responses_->Update(resp);
    } catch (const std::exception& e) {
      log::Debug("l2", std::string("cannot read lb_l2_stats: ") + e.what());
    }
  }

  boost::asio::io_context& io_;
  std::string node_;
  std::string bpffs_;
  std::unique_ptr<l2::Speaker> speaker_;
  Periodic refresh_;
  bool started_ = false;
  std::function<void(const ObjectEvent&)> emit_;
  prometheus::Counter* owner_changes_ = nullptr;
  uint64_t owner_changes_seen_ = 0;
  std::optional<CounterMirror> gratuitous_, rejected_, requests_, responses_, conflicts_;
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
  auto ops = std::make_unique<PinnedL2Ops>(std::make_unique<dataplane::PinnedMaps>(opts.bpffs));
  return std::make_unique<L2Component>(io, std::move(o), std::move(ops), opts.bpffs);
}

}  // namespace ironlb
