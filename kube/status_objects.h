// MetalLB's status kinds as ironlb writes them, and the pure planning of those writes:
// ServiceL2Status / ServiceBGPStatus (one per Service and announcing node, named by the server
// from "l2-" / "bgp-", labelled with the node and the Service) and ConfigurationState (one
// "speaker-<node>" per speaker, one "controller"), all in the agent's namespace,
// metallb.io/v1beta1. Given what a node wants and what the API holds, Plan* return the writes that
// make them agree, none when they already do: no API churn, and stale objects go at start like any
// other.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "store/node_status.h"

namespace ironlb::kube {

// MetalLB's labels on the per-Service status objects (internal/k8s/controllers/values.go).
inline constexpr const char* kLabelAnnounceNode = "metallb.io/node";
inline constexpr const char* kLabelServiceName = "metallb.io/service-name";
inline constexpr const char* kLabelServiceNamespace = "metallb.io/service-namespace";
// ... and on ConfigurationState.
inline constexpr const char* kLabelComponentType = "metallb.io/component-type";
inline constexpr const char* kLabelNodeName = "metallb.io/node-name";
inline constexpr const char* kStatusApiVersion = "metallb.io/v1beta1";

enum class StatusKind { kL2, kBgp, kConfig };
const char* KindName(StatusKind k);  // "ServiceL2Status", ...
const char* Plural(StatusKind k);    // "servicel2statuses", ...

// The pod the objects belong to (MetalLB sets the writing speaker's or controller's pod as the
// owner, so the garbage collector removes them with the pod). Unset: no ownerReferences.
struct PodOwner {
  std::string name, uid;
  nlohmann::json Reference() const;  // {apiVersion: v1, kind: Pod, name, uid}
};

// One status object as the API holds it (an informer's cache entry or our own last write).
struct StatusObject {
  std::string name;
  std::string version;
  std::map<std::string, std::string> labels;
  nlohmann::json owner_refs = nlohmann::json::array();
  nlohmann::json status = nlohmann::json::object();
  static StatusObject FromJson(const nlohmann::json& obj);
};

struct StatusWrite {
  enum class Op {
    kCreate,       // POST `object` (generateName or name), then the status patch `patch`
    kPatchStatus,  // merge-patch `patch` on <name>/status
    kPatchMeta,    // merge-patch `patch` on <name> (labels, ownerReferences)
    kDelete,
  };
  Op op = Op::kPatchStatus;
  StatusKind kind = StatusKind::kL2;
  std::string name;  // empty for a create with generateName
  nlohmann::json object;
  nlohmann::json patch;
  std::string about;  // what it is for, for logs ("Service demo/web", "speaker-node-a")
};

// The writes that make the API's objects of `want.protocol`'s kind (all of them in the
// namespace, any node's) show exactly `want`: this node's object per announced Service created or
// patched, its others deleted (a Service it stopped announcing, a duplicate), and for L2 another
// node's object for a Service this node announces deleted when that node is not among its owners.
std::vector<StatusWrite> PlanServiceStatuses(const NodeAnnouncements& want,
                                             const std::vector<StatusObject>& existing,
                                             const std::string& ns,
                                             const std::optional<PodOwner>& owner);

// The writes that make the component's ConfigurationState say `report`: result Valid or
// Invalid, errorSummary (the errors, one a line) and a configReconcilerValid condition, as
// MetalLB's; `now` (RFC 3339) stamps a condition that changes.
std::vector<StatusWrite> PlanConfigurationState(const ConfigReport& report,
                                                const std::vector<StatusObject>& existing,
                                                const std::string& ns,
                                                const std::optional<PodOwner>& owner,
                                                const std::string& now);

// "speaker-<node>" or "controller", as MetalLB names them.
std::string ConfigurationStateName(const ConfigReport& r);

}  // namespace ironlb::kube
