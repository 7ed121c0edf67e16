// MetalLB's validating webhooks for the metallb.io kinds: an admission.k8s.io/v1 AdmissionReview
// in, its response out. The verdict is config::Validate's (what `ironlbctl config show` reports)
// over the existing objects with the reviewed one in place, so overlaps and dangling references
// are caught as the agent would catch them. Pure: no I/O.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/validate.h"
#include "model/snapshot.h"

namespace ironlb::kube {

// One webhook of the ValidatingWebhookConfiguration, at MetalLB's path for its kind.
struct AdmissionRoute {
  std::string path;        // "/validate-metallb-io-v1beta1-ipaddresspool"
  std::string name;        // the webhook's name, "ipaddresspoolvalidationwebhook.metallb.io"
  std::string version;     // the version the rule matches (the apiserver converts others to it)
  std::string resource;    // "ipaddresspools"
  std::string kind;        // "IPAddressPool"
  bool on_delete = false;  // also reviews DELETE (a BFDProfile still in use)
};
const std::vector<AdmissionRoute>& AdmissionRoutes();
const AdmissionRoute* FindAdmissionRoute(const std::string& path);

// The answer to one AdmissionReview request body sent to `route`. `existing` is what the store
// holds now (the reviewed object's old version included); `in_force` the configuration the
// agent runs (so an object valid before keeps precedence over a newcomer, as in the agent).
// Refused: the object's own errors, and errors the change would cause in other objects, each
// "<Kind> <ns>/<name>: <field>: <message>". A body that is not an AdmissionReview gets a
// 400 "Errored" response. Never throws.
nlohmann::json ReviewAdmission(const AdmissionRoute& route, const nlohmann::json& review,
                               const Snapshot& existing, const Config& in_force,
                               const config::ValidateOptions& opts);

}  // namespace ironlb::kube
