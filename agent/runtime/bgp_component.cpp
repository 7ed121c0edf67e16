#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "bgp/service_status.h"
#include "bgp/speaker.h"
#include "metrics/family.h"
#include "metrics/mirror.h"
#include "runtime/components.h"
#include "runtime/log.h"
#include "runtime/loop_watch.h"
#include "runtime/periodic.h"

namespace ironlb {

namespace {

// Session state changes happen between reconciles (a peer connects, a hold timer fires), so the
// gauges are refreshed on a short period rather than on Apply alone.
constexpr auto kMetricsPeriod = std::chrono::seconds(1);
// The longest one turn of the loop spends removing withdrawn metric series.
constexpr auto kRemovalSlice = std::chrono::milliseconds(20);

// BGP sessions and BFD run on an io_context and a thread of their own: their keepalives, hold
// timers (3 s in the fault lab) and BFD packets must not wait behind a reconcile of 10,000
// Services on the agent's loop, nor behind a busy node's scheduler queue for that loop. The loop
// makes the plan (pure, from the model) and posts it over.
//
// Ownership: `speaker_` and all it holds belong to the BGP thread; the loop reaches it only by
// posting to `bgp_io_` (Apply, Shutdown), or by posting and waiting for the answer (Status: the
// BGP thread has little to do, and never waits for the loop). Every other member is the loop's.
class BgpComponent : public SpeakerComponent {
 public:
  BgpComponent(boost::asio::io_context& io, std::string node)
      : io_(io),
        bgp_io_(1),
        bgp_work_(boost::asio::make_work_guard(bgp_io_)),
        node_(node),
        speaker_(bgp_io_, std::move(node)),
        refresh_(io, kMetricsPeriod),
        bgp_watch_(bgp_io_, "BGP thread", "keepalives, hold timers and BFD"),
        bgp_thread_([this] { bgp_io_.run(); }) {
    // How late the BGP thread's own timers run (a plan of 10,000 routes is worked there too).
    boost::asio::post(bgp_io_, [this] { bgp_watch_.Start(); });
  }
  ~BgpComponent() override {
    bgp_work_.reset();
    bgp_io_.stop();
    if (bgp_thread_.joinable()) bgp_thread_.join();  // speaker_ is this thread's from here on
    *alive_ = false;
  }

  std::string name() const override { return "bgp"; }

  void Apply(const Model& model) override {
    bgp::SpeakerPlan plan = bgp::Speaker::Plan(model, node_);
    announced_ = plan.announcements;
    boost::asio::post(
        bgp_io_, [this, plan = std::move(plan)]() mutable { speaker_.Apply(std::move(plan)); });
    UpdateAnnounced(model);
    ReportAnnouncements(model);
    Refresh();
  }

  nlohmann::json Status() const override {
    nlohmann::json j = SpeakerStatus();
    // What each peer is told (prefix list by BGPPeer name): `ironlbctl explain` names the peers
    // a VIP is announced to from this.
    nlohmann::json ann = nlohmann::json::object();
    for (const auto& [peer, routes] : announced_->by_peer) {
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
    announced_family_ = &gauge("metallb_speaker_announced",
                               "Services being announced from this node (1 while announced), by "
                               "protocol");
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
    boost::asio::post(bgp_io_, [this, done = std::move(done)]() mutable {
      bgp_watch_.Cancel();
      // `done` continues the agent's shutdown: on the agent's loop.
      speaker_.Shutdown(
          [this, done = std::move(done)]() mutable { boost::asio::post(io_, std::move(done)); });
    });
  }

 private:
  // The speaker's Status(), asked of the BGP thread (see the class comment).
  nlohmann::json SpeakerStatus() const {
    std::promise<nlohmann::json> answer;
    auto got = answer.get_future();
    boost::asio::post(bgp_io_, [this, &answer] {
      nlohmann::json j = speaker_.Status();
      j["threadMaxHeldMs"] = bgp_watch_.max_held().count();
      answer.set_value(std::move(j));
    });
    return got.get();
  }

  void Refresh() {
    if (!session_up_) return;
    const nlohmann::json st = SpeakerStatus();
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
    NodeAnnouncements now = bgp::ServiceAnnouncements(model, *announced_, node_);
    if (reported_ && now == *reported_) return;
    report_(now);
    reported_ = std::move(now);
  }

  // metallb_speaker_announced{service,protocol,node,ip}: a Service's address is announced when a
  // route to some peer covers it (a /32 or /128, or an aggregate). Runs on every pass, on the
  // event loop: only the series that changed are touched (rebuilding 10,000 label sets each pass
  // held the loop ~85 ms in a Release build, ~300 ms with ASan).
  void UpdateAnnounced(const Model& model) {
    if (!announced_family_) return;
    const auto& by_peer = announced_->by_peer;
    std::set<int> lengths;
    for (const auto& [peer, pr] : by_peer)
      for (const auto& [prefix, attrs] : pr) lengths.insert(prefix.length);
    auto covered = [&](const IPAddr& ip) {
      return std::any_of(lengths.begin(), lengths.end(), [&](int len) {
        auto p = IPPrefix::Containing(ip, len);
        return p && std::any_of(by_peer.begin(), by_peer.end(),
                                [&](const auto& pr) { return pr.second.count(*p) > 0; });
      });
    };
    std::vector<AnnouncedKey> now;
    if (!lengths.empty())
      for (const Service& svc : model.snap().services) {
        if (svc.type != "LoadBalancer") continue;
        for (const IPAddr& ip : model.Ingress(svc))
          if (covered(ip)) now.emplace_back(svc.key(), ip);
      }
    std::sort(now.begin(), now.end());
    now.erase(std::unique(now.begin(), now.end()), now.end());
    if (now == announced_now_) return;
    std::vector<AnnouncedKey> gone, added;
    std::set_difference(announced_now_.begin(), announced_now_.end(), now.begin(), now.end(),
                        std::back_inserter(gone));
    std::set_difference(now.begin(), now.end(), announced_now_.begin(), announced_now_.end(),
                        std::back_inserter(added));
    for (const auto& k : gone) {
      auto it = announced_series_.find(k);
      if (it == announced_series_.end()) continue;
      it->second->Set(0);  // until its slice of removals comes
      doomed_.insert(*it);
      announced_series_.erase(it);
    }
    for (const auto& k : added) {
      prometheus::Gauge* g;
      if (auto d = doomed_.find(k); d != doomed_.end()) {
        g = d->second;  // withdrawn and back before it was removed: the same series
        doomed_.erase(d);
      } else {
        g = &announced_family_->Add({{"service", SafeLabelValue(k.first)},
                                     {"protocol", "bgp"},
                                     {"node", SafeLabelValue(node_)},
                                     {"ip", k.second.str()}});
      }
      g->Set(1);
      announced_series_[k] = g;
    }
    announced_now_ = std::move(now);
    if (!doomed_.empty() && !draining_) {
      draining_ = true;
      boost::asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
        if (!alive.expired()) RemoveDoomed();
      });
    }
  }

  // prometheus-cpp finds the series it removes by scanning the whole family: 10,000 withdrawn at
  // once (a namespace deleted) held the loop for seconds in one go (O(n^2)). They go in slices,
  // one per turn of the loop, so keepalives and timers run in between.
  void RemoveDoomed() {
    const auto until = std::chrono::steady_clock::now() + kRemovalSlice;
    while (!doomed_.empty() && std::chrono::steady_clock::now() < until) {
      announced_family_->Remove(doomed_.begin()->second);
      doomed_.erase(doomed_.begin());
    }
    if (doomed_.empty()) {
      draining_ = false;
      return;
    }
    boost::asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
      if (!alive.expired()) RemoveDoomed();
    });
  }

  using AnnouncedKey = std::pair<std::string, IPAddr>;  // Service "ns/name", address
  boost::asio::io_context& io_;                         // the agent's loop
  mutable boost::asio::io_context bgp_io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> bgp_work_;
  std::string node_;
  bgp::Speaker speaker_;  // the BGP thread's
  // The plan last handed over: what each peer is told (for Status and the metrics).
  std::shared_ptr<const bgp::Announcements> announced_ =
      std::make_shared<const bgp::Announcements>();
  Periodic refresh_;
  std::optional<GaugeMirror> session_up_, prefixes_, pending_, bfd_up_;
  prometheus::Family<prometheus::Gauge>* announced_family_ = nullptr;
  std::vector<AnnouncedKey> announced_now_;  // sorted: the series announced_family_ holds
  std::map<AnnouncedKey, prometheus::Gauge*> announced_series_;
  std::map<AnnouncedKey, prometheus::Gauge*> doomed_;  // withdrawn, set to 0, not yet removed
  bool draining_ = false;                              // a RemoveDoomed is posted
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::optional<CounterMirror> updates_, overflows_;
  std::function<void(const NodeAnnouncements&)> report_;
  std::optional<NodeAnnouncements> reported_;
  LoopWatch bgp_watch_;     // the BGP thread's
  std::thread bgp_thread_;  // last: runs bgp_io_ once everything above exists
};

}  // namespace

std::unique_ptr<SpeakerComponent> MakeBgpComponent(boost::asio::io_context& io,
                                                   const AgentOptions& opts) {
  return std::make_unique<BgpComponent>(io, opts.node);
}

}  // namespace ironlb
