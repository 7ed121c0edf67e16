// Who may run the controller when several agents could: a Lease on Kubernetes, always this
// process when standalone (no Leadership given). The Agent runs its allocator only while leader.
#pragma once

#include <functional>
#include <string>

namespace ironlb {

class Leadership {
 public:
  virtual ~Leadership() = default;
  // Starts campaigning; `on_change(true)` when this process becomes leader, `(false)` when it
  // stops being one (renewal failed, another holder). Called on the agent's event loop.
  virtual void Start(std::function<void(bool)> on_change) = 0;
  // Gives the role up (a standby takes over without waiting for expiry), then calls `done`.
  virtual void Stop(std::function<void()> done) = 0;
  virtual bool leader() const = 0;
  // For logs and the local API: "Lease metallb-system/ironlb-controller as node-a-x1y2".
  virtual std::string description() const = 0;
};

}  // namespace ironlb
