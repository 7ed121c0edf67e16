#include <algorithm>
#include <map>
#include <set>

#include "bgp/service_status.h"
#include "bgp/speaker.h"
#include "metrics/mirror.h"
#include "runtime/components.h"
#include "runtime/log.h"
#include "runtime/periodic.h"

namespace ironlb {

namespace {

// Session state changes happen between reconciles (a peer connects, a hold timer fires), so the
// gauges are refreshed on a short period rather than on Apply alone.
constexpr auto kMetricsPeriod = std::chrono::seconds(1);

class BgpComponent : public SpeakerComponent {
 public:
  BgpComponent(boost::asio::io_context& io, std::string node)
      : node_(node), speaker_(io, std::move(node)), refresh_(io, kMetricsPeriod) {}

  std::string name() const override { return "bgp"; }

  void Apply(const Model& model) override {
    speaker_.Apply(model);
    UpdateAnnounced(model);
    ReportAnnouncements(model);
    Refresh();
  }

  nlohmann::json Status() const override {
    nlohmann::json j = speaker_.Status();
    // What each peer is told (prefix list by BGPPeer name): `ironlbctl explain` names the peers
    // a VIP is announced to from this.
    nlohmann::json ann = nlohmann::json::object();
    for (const auto& [peer, routes] : speaker_.announcements().by_peer) {
      nlohmann::json prefixes = nlohmann::json::array();
      for (const auto& [prefix, attrs] : routes) prefixes.push_back(prefix.str());
      ann[peer] = std::move(prefixes);
    }
    j["announcements"] = std::move(ann);
    return j;
  }

  void BindAnnouncements(std::function<void(const NodeAnnouncements&)> report) override {
    report_ = std::move(report);
  }

  void BindMetrics(prometheus::Registry& reg) override {
    auto gauge = [&reg](const char* name, const char* help) -> auto& {
      return prometheus::BuildGauge().Name(name).Help(help).Register(reg);
    };
    // MetalLB's names and meanings, so its dashboards and alerts carry over; `peer` is the
    // peer's address, as MetalLB's FRR mode labels it.
    session_up_.emplace(gauge("metallb_bgp_session_up", "BGP session state (1 is up, 0 is down)"),
                        "peer");
    prefixes_.emplace(gauge("metallb_bgp_announced_prefixes_total",
                            "Number of prefixes currently being advertised on the BGP session"),
                      "peer");
    pending_.emplace(gauge("metallb_bgp_pending_prefixes_total",
                           "Number of prefixes that should be advertised on the BGP session"),
                     "peer");
    bfd_up_.emplace(gauge("metallb_bfd_session_up",
                          "BFD session state (1 is up, 0 is down), for BGPPeers with a bfdProfile"),
                    "peer");
    updates_.emplace(prometheus::BuildCounter()
                         .Name("metallb_bgp_updates_total")
                         .Help("Number of BGP UPDATE messages sent")
                         .Register(reg),
                     "peer");
    // The L2 component adds protocol="layer2" series to the same family (merged by name).
    announced_.emplace(gauge("metallb_speaker_announced",
                             "Services being announced from this node (1 while announced), by "
                             "protocol"));
    overflows_.emplace(prometheus::BuildCounter()
                           .Name("ironlb_bgp_send_queue_overflows_total")
                           .Help("BGP sessions closed because the peer stopped reading and the "
                                 "send queue reached its limit")
                           .Register(reg),
                       "peer");
    refresh_.Start([this] { Refresh(); });
  }

  void Shutdown(std::function<void()> done) override {
    refresh_.Cancel();
    log::Info("bgp", "sending Cease/Administrative Shutdown to every peer");
    speaker_.Shutdown(std::move(done));
  }

 private:
  void Refresh() {
    if (!session_up_) return;
    const nlohmann::json st = speaker_.Status();
    std::map<std::string, double> up, prefixes, pending, bfd_up;
    std::map<std::string, uint64_t> updates, overflows;
    for (const auto& s : st["sessions"]) {
      const std::string peer = s.value("peer_address", "");
      up[peer] = s.value("state", "") == "Established" ? 1 : 0;
      prefixes[peer] = s.value("prefixes_sent", 0.0);
      pending[peer] = s.value("prefixes_desired", 0.0);
      if (s.contains("bfd")) bfd_up[peer] = s["bfd"].value("state", "") == "Up" ? 1 : 0;
      // A session rebuilt after a peer edit counts from zero again; the mirror handles it.
      updates[peer] = s.value("updates_sent", uint64_t{0});
      overflows[peer] = s.value("send_queue_overflows", uint64_t{0});
    }
    session_up_->Update(up);
    prefixes_->Update(prefixes);
    pending_->Update(pending);
    bfd_up_->Update(bfd_up);
    updates_->Update(updates);
    overflows_->Update(overflows);
  }

  // MetalLB's ServiceBGPStatus: which peers each Service is advertised to from this node. Routes
  // change only in Apply, so this is the one place to look.
  void ReportAnnouncements(const Model& model) {
    if (!report_) return;
    NodeAnnouncements now = bgp::ServiceAnnouncements(model, speaker_.announcements(), node_);
    if (reported_ && now == *reported_) return;
    report_(now);
    reported_ = std::move(now);
  }

  // metallb_speaker_announced{service,protocol,node,ip}: a Service's address is announced when a
  // route to some peer covers it (a /32 or /128, or an aggregate).
  void UpdateAnnounced(const Model& model) {
    if (!announced_) return;
    std::set<IPPrefix> routes;
    std::set<int> lengths;
    for (const auto& [peer, pr] : speaker_.announcements().by_peer)
      for (const auto& [prefix, attrs] : pr) {
        routes.insert(prefix);
        lengths.insert(prefix.length);
      }
    std::map<prometheus::Labels, double> announced;
    for (const Service& svc : model.snap().services) {
      if (svc.type != "LoadBalancer") continue;
      for (const IPAddr& ip : model.Ingress(svc)) {
        const bool covered = std::any_of(lengths.begin(), lengths.end(), [&](int len) {
          auto p = IPPrefix::Containing(ip, len);
          return p && routes.count(*p);
        });
        if (covered)
          announced[{
              {"service", svc.key()}, {"protocol", "bgp"}, {"node", node_}, {"ip", ip.str()}}] = 1;
      }
    }
    announced_->Update(announced);
  }

  std::string node_;
  bgp::Speaker speaker_;
  Periodic refresh_;
  std::optional<GaugeMirror> session_up_, prefixes_, pending_, bfd_up_;
  std::optional<GaugeSet> announced_;
  std::optional<CounterMirror> updates_, overflows_;
  std::function<void(const NodeAnnouncements&)> report_;
  std::optional<NodeAnnouncements> reported_;
};

}  // namespace

std::unique_ptr<SpeakerComponent> MakeBgpComponent(boost::asio::io_context& io,
                                                   const AgentOptions& opts) {
  return std::make_unique<BgpComponent>(io, opts.node);
}

}  // namespace ironlb
