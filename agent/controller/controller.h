// The controller role: from a snapshot and the validated config, decide every LoadBalancer
// Service's assignment with the allocator. Pure apart from the allocator's in-memory state.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "alloc/allocator.h"
#include "model/service_status.h"
#include "model/snapshot.h"

namespace ironlb {

struct ControllerOptions {
  // Only Services with this spec.loadBalancerClass are ours; empty = only Services without a
  // class (MetalLB's default).
  std::string load_balancer_class;
};

struct ReconcileResult {
  std::vector<ServiceStatus> desired;  // one per LoadBalancer Service we own, sorted by key
  std::vector<std::string> events;     // human-readable: what changed and why (for logs)
};

class Controller {
 public:
  explicit Controller(ControllerOptions opts = {}) : opts_(std::move(opts)) {}

  // Level-triggered: computes the full desired status from the full current state. The first
  // call adopts what Services already hold (status files / status.loadBalancer.ingress) before
  // allocating anything new, so a restarted controller never moves a running Service's IP.
  ReconcileResult Reconcile(const Snapshot& snap, const Config& cfg);

  bool Owns(const Service& svc) const;
  // What the last Reconcile decided, by "ns/name": the same statuses as its `desired`.
  const std::map<std::string, ServiceStatus>& assignments() const { return last_; }
  const alloc::Allocator& allocator() const { return alloc_; }

 private:
  ControllerOptions opts_;
  alloc::Allocator alloc_;
  bool adopted_ = false;
  std::map<std::string, IPAddressPool> pools_;  // last pool set given to the allocator
  std::map<std::string, ServiceStatus> last_;   // assignments(); for change events
};

}  // namespace ironlb
