// The interface the agent drives its speaker-side parts through (data plane, BGP, L2): each gets
// the full validated state after every change and diffs it itself (level-triggered).
#pragma once

#include <prometheus/registry.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "model/snapshot.h"

namespace ironlb {

class SpeakerComponent {
 public:
  virtual ~SpeakerComponent() = default;
  // Short name; also the local API path /v1/<name>.
  virtual std::string name() const = 0;
  // Called on the io_context with the whole current state; must not block.
  virtual void Apply(const Config& cfg, const Snapshot& snap) = 0;
  virtual nlohmann::json Status() const = 0;
  // Registers the component's own metrics once the agent's registry exists (before Apply).
  virtual void BindMetrics(prometheus::Registry&) {}
  // Orderly stop (e.g. BGP Cease to every peer); call `done` when finished.
  virtual void Shutdown(std::function<void()> done) { done(); }
};

}  // namespace ironlb
