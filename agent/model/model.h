// The model one reconcile pass works from: the validated configuration, the store's objects and
// the controller's decisions of this pass, with the indexes and shared rules every speaker uses.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "model/service_status.h"
#include "model/snapshot.h"

namespace ironlb {

// Kubernetes' well-known label every Node carries; the fallback identity of a node that has no
// Node object (standalone configurations often list none).
inline constexpr const char* kHostnameLabel = "kubernetes.io/hostname";
// Kubernetes' well-known label that keeps a node out of external load balancers.
inline constexpr const char* kExcludeFromLBLabel =
    "node.kubernetes.io/exclude-from-external-load-balancers";

class Model {
 public:
  // `assigned` (may be null) holds the controller's assignments of this pass, by "ns/name"; when
  // given, they override what the store says, so speakers in the same process never wait for a
  // status write to come back. All references must outlive the Model.
  Model(const Config& cfg, const Snapshot& snap,
        const std::map<std::string, ServiceStatus>* assigned = nullptr);

  const Config& cfg() const { return cfg_; }
  const Snapshot& snap() const { return snap_; }

  // The addresses a LoadBalancer Service holds now (controller's decision, else its status).
  std::vector<IPAddr> Ingress(const Service& svc) const;
  // The pool `ip` of `svc` came from: the recorded pool if it still exists, else the pool whose
  // ranges contain it; null when none does.
  const IPAddressPool* PoolOf(const Service& svc, const IPAddr& ip) const;
  // The EndpointSlices of a Service (label kubernetes.io/service-name), in store order.
  const std::vector<const EndpointSlice*>& Slices(const Service& svc) const;
  // Every node name the store knows, plus `self` if it has no Node object.
  std::vector<std::string> NodeNames(const std::string& self) const;
  const Node* FindNode(const std::string& name) const;
  // A node's labels; a node without a Node object carries only kubernetes.io/hostname.
  Labels NodeLabels(const std::string& name) const;
  // Whether a node may announce VIPs at all (L2 and BGP alike): not when labelled
  // node.kubernetes.io/exclude-from-external-load-balancers or while its NetworkUnavailable
  // condition is true. A node without a Node object (standalone) may.
  bool NodeMayAnnounce(const std::string& name) const;

 private:
  const Config& cfg_;
  const Snapshot& snap_;
  const std::map<std::string, ServiceStatus>* assigned_;
  std::map<std::pair<std::string, std::string>, std::vector<const EndpointSlice*>> slices_;
  std::map<std::string, const Node*> nodes_;
};

// An advertisement (L2 or BGP) selects a pool by name or label; with neither, every pool.
bool SelectsPool(const std::vector<std::string>& names, const std::vector<LabelSelector>& selectors,
                 const IPAddressPool& pool);

// Endpoint conditions, with the API's defaults for unset fields.
inline bool EndpointReady(const Endpoint& e) {
  return e.conditions.ready.value_or(true);
}
inline bool EndpointServing(const Endpoint& e) {
  return e.conditions.serving.value_or(EndpointReady(e));
}
inline bool EndpointTerminating(const Endpoint& e) {
  return e.conditions.terminating.value_or(false);
}

// "host:port" / "[v6]:port" as written in flags and configuration; nullopt when malformed.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
std::optional<HostPort> ParseHostPort(const std::string& s);
// The inverse: brackets around IPv6 literals.
std::string FormatHostPort(const IPAddr& a, uint16_t port);

}  // namespace ironlb
