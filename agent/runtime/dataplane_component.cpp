#include "dataplane/dataplane.h"
#include "runtime/components.h"
#include "runtime/log.h"

namespace ironlb {

namespace {

class DataplaneComponent : public SpeakerComponent {
 public:
  DataplaneComponent(std::unique_ptr<dataplane::Dataplane> dp, std::string node)
      : dp_(std::move(dp)), node_(std::move(node)) {}

  std::string name() const override { return "dataplane"; }

  void Apply(const Config& cfg, const Snapshot& snap) override {
    dp_->Apply(dataplane::ComputeDesired(snap, cfg, node_));
  }

  nlohmann::json Status() const override { return dp_->Status(); }

  void Shutdown(std::function<void()> done) override {
    // Programs stay attached and maps pinned: traffic keeps flowing while the agent restarts
    // or upgrades, and the next agent adopts them. `ironlbctl` can still read the maps.
    log::Info("dataplane", "leaving XDP programs attached and maps pinned for the next agent");
    done();
  }

 private:
  std::unique_ptr<dataplane::Dataplane> dp_;
  std::string node_;
};

}  // namespace

std::unique_ptr<SpeakerComponent> MakeDataplaneComponent(const AgentOptions& opts) {
  dataplane::DataplaneOptions o;
  o.bpffs = opts.bpffs;
  o.interfaces = opts.interfaces;
  o.mode = opts.xdp_mode == "native"    ? dataplane::DataplaneOptions::XdpMode::kNative
           : opts.xdp_mode == "generic" ? dataplane::DataplaneOptions::XdpMode::kGeneric
                                        : dataplane::DataplaneOptions::XdpMode::kAuto;
  return std::make_unique<DataplaneComponent>(dataplane::Dataplane::Open(o), opts.node);
}

}  // namespace ironlb
