#include "kube/admission.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "kube/api_object.h"

namespace ironlb::kube {

namespace {

using nlohmann::json;

// The status of an AdmissionResponse as controller-runtime's Allowed/Denied/Errored write it
// (MetalLB's webhooks answer through it, and kubectl shows reason and message).
json Response(const std::string& uid, bool allowed, int code, const std::string& reason,
              const std::string& message) {
  json status = {{"metadata", json::object()}, {"code", code}};
  if (!reason.empty()) status["reason"] = reason;
  if (!message.empty()) status["message"] = message;
  return {{"kind", "AdmissionReview"},
          {"apiVersion", "admission.k8s.io/v1"},
          {"response", {{"uid", uid}, {"allowed", allowed}, {"status", std::move(status)}}}};
}

// Puts `obj` in `v` in place of the object of the same namespace and name, or appends it.
template <class T>
void Put(std::vector<T>* v, const T& obj) {
  for (T& o : *v) {
    if (o.meta.ns == obj.meta.ns && o.meta.name == obj.meta.name) {
      o = obj;
      return;
    }
  }
  v->push_back(obj);
}

// Copies the one object `one` holds into `snap`; false when `one` holds none.
bool PutDecoded(const Snapshot& one, Snapshot* snap) {
  auto put_first = [](const auto& from, auto* to) {
    if (from.empty()) return false;
    Put(to, from.front());
    return true;
  };
  return put_first(one.pools, &snap->pools) ||
         put_first(one.l2_advertisements, &snap->l2_advertisements) ||
         put_first(one.bgp_advertisements, &snap->bgp_advertisements) ||
         put_first(one.peers, &snap->peers) || put_first(one.bfd_profiles, &snap->bfd_profiles) ||
         put_first(one.communities, &snap->communities);
}

// What config::Validate reads: the metallb.io kinds and the Nodes, Namespaces and Secrets their
// rules look at. Services and EndpointSlices, the bulk of a cluster, are left out of the copies
// a review makes.
Snapshot ConfigPart(const Snapshot& s) {
  Snapshot c;
  c.pools = s.pools;
  c.l2_advertisements = s.l2_advertisements;
  c.bgp_advertisements = s.bgp_advertisements;
  c.peers = s.peers;
  c.bfd_profiles = s.bfd_profiles;
  c.communities = s.communities;
  c.nodes = s.nodes;
  c.namespaces = s.namespaces;
  c.secrets = s.secrets;
  c.decode_errors = s.decode_errors;
  return c;
}

std::string Join(const std::vector<ConfigError>& errors) {
  std::string s;
  for (ConfigError e : errors) {
    e.file.clear();  // "api": the reader knows where the object came from
    if (!s.empty()) s += "; ";
    s += e.str();
  }
  return s;
}

std::string MetaOf(const json& obj, const char* key) {
  const auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return "";
  return m->value(key, "");
}

// MetalLB refuses to delete a BFDProfile a BGPPeer still names (the peer would lose BFD).
json ReviewBFDDelete(const std::string& uid, const json& req, const Snapshot& existing) {
  const json old = req.value("oldObject", json());
  std::string name = req.value("name", "");
  if (name.empty() && old.is_object()) name = MetaOf(old, "name");
  for (const BGPPeer& p : existing.peers) {
    if (p.bfd_profile == name)
      return Response(uid, false, 403, "Forbidden",
                      "BFDProfile " + req.value("namespace", "") + "/" + name +
                          ": cannot be deleted: BGPPeer " + p.meta.ns + "/" + p.meta.name +
                          " uses it (spec.bfdProfile)");
  }
  return Response(uid, true, 200, "", "");
}

}  // namespace

const std::vector<AdmissionRoute>& AdmissionRoutes() {
  // MetalLB's paths and webhook names (config/webhook/manifests.yaml), so tooling that knows
  // MetalLB's webhooks recognises these.
  static const std::vector<AdmissionRoute> routes = {
      {"/validate-metallb-io-v1beta1-ipaddresspool", "ipaddresspoolvalidationwebhook.metallb.io",
       "v1beta1", "ipaddresspools", "IPAddressPool"},
      {"/validate-metallb-io-v1beta2-bgppeer", "bgppeersvalidationwebhook.metallb.io", "v1beta2",
       "bgppeers", "BGPPeer"},
      {"/validate-metallb-io-v1beta1-bgpadvertisement",
       "bgpadvertisementvalidationwebhook.metallb.io", "v1beta1", "bgpadvertisements",
       "BGPAdvertisement"},
      {"/validate-metallb-io-v1beta1-l2advertisement",
       "l2advertisementvalidationwebhook.metallb.io", "v1beta1", "l2advertisements",
       "L2Advertisement"},
      {"/validate-metallb-io-v1beta1-community", "communityvalidationwebhook.metallb.io", "v1beta1",
       "communities", "Community"},
      {"/validate-metallb-io-v1beta1-bfdprofile", "bfdprofilevalidationwebhook.metallb.io",
       "v1beta1", "bfdprofiles", "BFDProfile", /*on_delete=*/true},
  };
  return routes;
}

const AdmissionRoute* FindAdmissionRoute(const std::string& path) {
  for (const auto& r : AdmissionRoutes())
    if (r.path == path) return &r;
  return nullptr;
}

json ReviewAdmission(const AdmissionRoute& route, const json& review, const Snapshot& existing,
                     const Config& in_force, const config::ValidateOptions& opts) {
  std::string uid;
  try {
    if (!review.is_object() || review.value("kind", "") != "AdmissionReview" ||
        review.value("apiVersion", "") != "admission.k8s.io/v1")
      throw std::invalid_argument("expected an admission.k8s.io/v1 AdmissionReview");
    const auto rq = review.find("request");
    if (rq == review.end() || !rq->is_object()) throw std::invalid_argument("no request");
    const json& req = *rq;
    uid = req.value("uid", "");
    const json kind = req.value("kind", json::object());
    if (!kind.is_object() || kind.value("group", "") != "metallb.io" ||
        kind.value("kind", "") != route.kind)
      throw std::invalid_argument(route.path + " reviews metallb.io " + route.kind + ", not " +
                                  kind.dump());
    const std::string op = req.value("operation", "");
    if (op == "DELETE") {
      if (route.kind == "BFDProfile") return ReviewBFDDelete(uid, req, existing);
      return Response(uid, true, 200, "", "");
    }
    if (op != "CREATE" && op != "UPDATE") return Response(uid, true, 200, "", "");

    json obj = req.value("object", json());
    if (!obj.is_object()) throw std::invalid_argument("request.object is missing");
    // A CREATE with generateName has no name yet; the namespace comes from the request.
    json& meta = obj["metadata"];
    if (!meta.is_object()) meta = json::object();
    if (!meta.contains("namespace") && req.contains("namespace"))
      meta["namespace"] = req["namespace"];
    const std::string version = kind.value("version", route.version);
    const Snapshot one = DecodeApiObject(obj, "metallb.io/" + version, route.kind);
    if (!one.decode_errors.empty())
      return Response(uid, false, 403, "Forbidden", Join(one.decode_errors));

    const Snapshot current = ConfigPart(existing);
    Snapshot after = current;
    if (!PutDecoded(one, &after))
      throw std::invalid_argument("request.object is not a metallb.io " + route.kind);
    ConfigState before_state, after_state;
    const Config before = config::Validate(current, in_force, opts, &before_state);
    config::Validate(after, before, opts, &after_state);

    // The reviewed object's own errors, and any error the change brings to another object (a
    // pool that now overlaps, an advertisement whose community alias is gone).
    const ObjectRef self{route.kind, MetaOf(obj, "namespace"), MetaOf(obj, "name")};
    std::set<std::string> had;
    for (const auto& e : before_state.errors) had.insert(e.str());
    std::vector<ConfigError> refused;
    for (const auto& e : after_state.errors) {
      const bool own = e.object.kind == self.kind && e.object.name == self.name &&
                       (e.object.ns.empty() || e.object.ns == self.ns);
      if (own || !had.count(e.str())) refused.push_back(e);
    }
    if (!refused.empty()) return Response(uid, false, 403, "Forbidden", Join(refused));
    return Response(uid, true, 200, "", "");
  } catch (const std::exception& e) {
    return Response(uid, false, 400, "BadRequest", e.what());
  }
}

}  // namespace ironlb::kube
