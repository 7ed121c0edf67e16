#include <map>

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
      : speaker_(io, std::move(node)), refresh_(io, kMetricsPeriod) {}

  std::string name() const override { return "bgp"; }

  void Apply(const Model& model) override {
    speaker_.Apply(model);
    Refresh();
  }

  nlohmann::json Status() const override { return speaker_.Status(); }

  void BindMetrics(prometheus::Registry& reg) override {
    auto gauge = [&reg](const char* name, const char* help) -> auto& {
      return prometheus::BuildGauge().Name(name).Help(help).Register(reg);
    };
    // Names follow MetalLB's speaker metrics so existing dashboards and alerts carry over.
    session_up_.emplace(
        gauge("ironlb_bgp_session_up", "1 while the BGP session with the peer is Established"),
        "peer");
    prefixes_.emplace(
        gauge("ironlb_bgp_announced_prefixes_total", "Prefixes currently announced to the peer"),
        "peer");
    bfd_up_.emplace(
        gauge("ironlb_bfd_session_up",
              "1 while the BFD session with the BGPPeer is Up (peers with a bfdProfile)"),
        "peer");
    updates_.emplace(prometheus::BuildCounter()
                         .Name("ironlb_bgp_updates_total")
                         .Help("BGP UPDATE messages sent to the peer")
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
    std::map<std::string, double> up, prefixes, bfd_up;
    std::map<std::string, uint64_t> updates;
    for (const auto& s : st["sessions"]) {
      const std::string peer = s.value("name", "");
      up[peer] = s.value("state", "") == "Established" ? 1 : 0;
      prefixes[peer] = s.value("prefixes_sent", 0.0);
      if (s.contains("bfd")) bfd_up[peer] = s["bfd"].value("state", "") == "Up" ? 1 : 0;
      // A session rebuilt after a peer edit counts from zero again; the mirror handles it.
      updates[peer] = s.value("updates_sent", uint64_t{0});
    }
    session_up_->Update(up);
    prefixes_->Update(prefixes);
    bfd_up_->Update(bfd_up);
    updates_->Update(updates);
  }

  bgp::Speaker speaker_;
  Periodic refresh_;
  std::optional<GaugeMirror> session_up_, prefixes_, bfd_up_;
  std::optional<CounterMirror> updates_;
};

}  // namespace

std::unique_ptr<SpeakerComponent> MakeBgpComponent(boost::asio::io_context& io,
                                                   const AgentOptions& opts) {
  return std::make_unique<BgpComponent>(io, opts.node);
}

}  // namespace ironlb
