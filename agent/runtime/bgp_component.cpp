#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <boost/asio/steady_timer.hpp>
#include <map>

#include "bgp/speaker.h"
#include "metrics/counter_mirror.h"
#include "runtime/components.h"
#include "runtime/log.h"

namespace ironlb {

namespace {

// Session state changes happen between reconciles (a peer connects, a hold timer fires), so the
// gauges are refreshed on a short period rather than on Apply alone.
constexpr auto kMetricsPeriod = std::chrono::seconds(1);

class BgpComponent : public SpeakerComponent {
 public:
  BgpComponent(boost::asio::io_context& io, std::string node)
      : io_(io), speaker_(io, std::move(node)), timer_(io) {}

  ~BgpComponent() override { *alive_ = false; }

  std::string name() const override { return "bgp"; }

  void Apply(const Config& cfg, const Snapshot& snap) override {
    speaker_.Apply(cfg, snap);
    Refresh();
  }

  nlohmann::json Status() const override { return speaker_.Status(); }

  void BindMetrics(prometheus::Registry& reg) override {
    // Names follow MetalLB's speaker metrics so existing dashboards and alerts carry over.
    session_up_ = &prometheus::BuildGauge()
                       .Name("ironlb_bgp_session_up")
                       .Help("1 while the BGP session with the peer is Established")
                       .Register(reg);
    prefixes_ = &prometheus::BuildGauge()
                     .Name("ironlb_bgp_announced_prefixes_total")
                     .Help("Prefixes currently announced to the peer")
                     .Register(reg);
    bfd_up_ = &prometheus::BuildGauge()
                   .Name("ironlb_bfd_session_up")
                   .Help("1 while the BFD session with the BGPPeer is Up (peers with a bfdProfile)")
                   .Register(reg);
    updates_.emplace(prometheus::BuildCounter()
                         .Name("ironlb_bgp_updates_total")
                         .Help("BGP UPDATE messages sent to the peer")
                         .Register(reg),
                     "peer");
    Tick();
  }

  void Shutdown(std::function<void()> done) override {
    timer_.cancel();
    log::Info("bgp", "sending Cease/Administrative Shutdown to every peer");
    speaker_.Shutdown(std::move(done));
  }

 private:
  struct PeerMetrics {
    prometheus::Gauge* up;
    prometheus::Gauge* prefixes;
    prometheus::Gauge* bfd_up = nullptr;  // only for peers with a bfdProfile
  };

  void Tick() {
    Refresh();
    timer_.expires_after(kMetricsPeriod);
    std::weak_ptr<bool> alive = alive_;
    timer_.async_wait([this, alive](const boost::system::error_code& ec) {
      if (ec || alive.expired()) return;
      Tick();
    });
  }

  void Refresh() {
    if (!session_up_) return;
    const nlohmann::json st = speaker_.Status();
    std::map<std::string, bool> seen;
    std::map<std::string, uint64_t> updates;
    for (const auto& s : st["sessions"]) {
      const std::string peer = s.value("name", "");
      seen[peer] = true;
      auto it = peers_.find(peer);
      if (it == peers_.end()) {
        const prometheus::Labels l{{"peer", peer}};
        it = peers_.emplace(peer, PeerMetrics{&session_up_->Add(l), &prefixes_->Add(l)}).first;
      }
      PeerMetrics& m = it->second;
      m.up->Set(s.value("state", "") == "Established" ? 1 : 0);
      m.prefixes->Set(s.value("prefixes_sent", 0.0));
      if (s.contains("bfd")) {
        if (!m.bfd_up) m.bfd_up = &bfd_up_->Add({{"peer", peer}});
        m.bfd_up->Set(s["bfd"].value("state", "") == "Up" ? 1 : 0);
      } else if (m.bfd_up) {
        bfd_up_->Remove(m.bfd_up);
        m.bfd_up = nullptr;
      }
      // A session rebuilt after a peer edit counts from zero again; the mirror handles it.
      updates[peer] = s.value("updates_sent", uint64_t{0});
    }
    for (auto it = peers_.begin(); it != peers_.end();) {
      if (seen.count(it->first)) {
        ++it;
        continue;
      }
      session_up_->Remove(it->second.up);
      prefixes_->Remove(it->second.prefixes);
      if (it->second.bfd_up) bfd_up_->Remove(it->second.bfd_up);
      it = peers_.erase(it);
    }
    updates_->Update(updates);
  }

  boost::asio::io_context& io_;
  bgp::Speaker speaker_;
  boost::asio::steady_timer timer_;
  prometheus::Family<prometheus::Gauge>* session_up_ = nullptr;
  prometheus::Family<prometheus::Gauge>* prefixes_ = nullptr;
  std::optional<CounterMirror> updates_;
  prometheus::Family<prometheus::Gauge>* bfd_up_ = nullptr;
  std::map<std::string, PeerMetrics> peers_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

std::unique_ptr<SpeakerComponent> MakeBgpComponent(boost::asio::io_context& io,
                                                   const AgentOptions& opts) {
  return std::make_unique<BgpComponent>(io, opts.node);
}

}  // namespace ironlb
