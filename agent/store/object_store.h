// ObjectStore: the one interface between where objects come from (a directory of YAML, the
// Kubernetes API) and the rest of the agent. The agent, controller and speakers know only this.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "model/event.h"
#include "model/snapshot.h"
#include "store/node_status.h"
#include "store/service_status.h"

namespace ironlb {

// One change a watch reported. `version` is the store's version of the object after the change
// (a resourceVersion on Kubernetes, a file generation standalone); for a delete, the last one.
struct StoreEvent {
  enum class Type { kAdded, kModified, kDeleted };
  Type type = Type::kModified;
  ObjectRef object;
  std::string version;
  bool operator==(const StoreEvent&) const = default;
};

class ObjectStore {
 public:
  using ChangeHandler = std::function<void(const std::vector<StoreEvent>&)>;
  virtual ~ObjectStore() = default;

  // Loads everything once (list) and starts watching; `on_change` then runs on the agent's
  // io_context with the events of each coalesced batch, after snapshot() reflects them.
  // Throws when the source cannot be read at all (a missing directory, no API server).
  virtual void Start(ChangeHandler on_change) = 0;
  virtual void Stop() {}

  // Every object the store holds now, undecodable documents listed in decode_errors. Services
  // carry status.loadBalancer.ingress and the allocated-from-pool annotation as the store has
  // them (which may lag the controller's in-memory decisions).
  virtual const Snapshot& snapshot() const = 0;
  // True once the first full list has been read (Kubernetes: informers synced).
  virtual bool synced() const = 0;
  // Where the objects come from, for logs and the local API ("dir /etc/ironlb", "api https://…").
  virtual std::string description() const = 0;

  // The assignments recorded in the store (one per Service that has one), for diffing.
  virtual std::vector<ServiceStatus> statuses() const = 0;
  // Records a Service's assignment (status.loadBalancer.ingress + the pool annotation, or the
  // pending reason). Throws std::runtime_error on failure; the caller retries on the next pass.
  virtual void WriteStatus(const ServiceStatus& s) = 0;
  // Clears the assignment of a Service that is gone or no longer ours.
  virtual void RemoveStatus(const std::string& ns, const std::string& name) = 0;
  // Reports something about an object (best effort: never throws).
  virtual void EmitEvent(const ObjectEvent& ev) = 0;

  // MetalLB's status kinds (ServiceL2Status, ServiceBGPStatus, ConfigurationState), best effort:
  // never throws, and a store writes only what differs from what it holds. The default has no
  // place for them: standalone (FileStore) the same facts are the local API's (`ironlbctl l2
  // show`, `bgp show`, `config show`), so nothing is written twice.
  // Everything `a.node` announces by `a.protocol` now (the whole set each time).
  virtual void ReportAnnouncements(const NodeAnnouncements& a) { (void)a; }
  // Whether ReportAnnouncements keeps anything: the speakers compute no per-Service report for a
  // store without (at 10,000 Services that is a fifth of a pass, on the event loop).
  virtual bool WantsAnnouncements() const { return false; }
  // The result of a component's last validation pass.
  virtual void ReportConfig(const ConfigReport& r) { (void)r; }
};

}  // namespace ironlb
