// The interface the agent drives its speaker-side parts through (data plane, BGP, L2): each gets
// the whole model after every change and diffs it itself (level-triggered).
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "model/event.h"
#include "model/model.h"
#include "store/node_status.h"

namespace ironlb {

class SpeakerComponent {
 public:
  virtual ~SpeakerComponent() = default;
  // Short name; also the local API path /v1/<name>.
  virtual std::string name() const = 0;
  // Called on the io_context with the whole current model; must not block.
  virtual void Apply(const Model& model) = 0;
  virtual nlohmann::json Status() const = 0;
  // Registers the component's own metrics once the agent's registry exists (before Apply).
  virtual void BindMetrics(prometheus::Registry&) {}
  // Families read at scrape time on the metrics thread (so must be thread-safe and touch no
  // state of the io_context), e.g. per-CPU BPF counters; null when the component has none.
  virtual std::shared_ptr<prometheus::Collectable> ScrapeCollectable() { return nullptr; }
  // Why the component cannot serve yet (e.g. the data plane is not attached); empty when it can.
  // Called on the io_context about once a second for /readyz.
  virtual std::string NotReady() const { return {}; }
  // Where the component reports something about an object (a Service refused for capacity, an
  // L2 owner change); the agent forwards it to the store. Called before the first Apply.
  virtual void BindEvents(std::function<void(const ObjectEvent&)>) {}
  // Where the component reports the Services it announces from this node (MetalLB's
  // ServiceL2Status / ServiceBGPStatus), whenever that set changes; the agent forwards it to the
  // store. Called on the io_context, before the first Apply.
  virtual void BindAnnouncements(std::function<void(const NodeAnnouncements&)>) {}
  // Orderly stop (e.g. BGP Cease to every peer); call `done` when finished.
  virtual void Shutdown(std::function<void()> done) { done(); }
};

}  // namespace ironlb
