#include "kube/conversion.h"

#include <array>
#include <stdexcept>
#include <string_view>

namespace ironlb::kube {

namespace {

using nlohmann::json;

// Spec fields both versions carry with the same meaning and JSON shape (v1beta1's
// NodeSelector serialises exactly as a metav1.LabelSelector).
constexpr std::array<std::string_view, 10> kCommon = {
    "myASN",    "peerASN",  "peerAddress", "sourceAddress", "peerPort",
    "routerID", "password", "bfdProfile",  "ebgpMultiHop",  "nodeSelectors"};
// v1beta1 has these too, but an absent one means 0s there (MetalLB's ConvertTo points the
// hub's timers at the v1beta1 values) while absent in v1beta2 means the default.
constexpr std::array<std::string_view, 2> kTimers = {"holdTime", "keepaliveTime"};
// Only v1beta2 has these.
constexpr std::array<std::string_view, 9> kV1beta2Only = {
    "localASN",    "dynamicASN",     "interface",
    "connectTime", "passwordSecret", "enableGracefulRestart",
    "vrf",         "disableMP",      "dualStackAddressFamily"};

const json& SpecOf(const json& obj) {
  static const json kEmpty = json::object();
  const auto s = obj.find("spec");
  if (s == obj.end() || s->is_null()) return kEmpty;
  if (!s->is_object()) throw std::invalid_argument("spec is not an object");
  return *s;
}

json& Annotations(json& obj) {
  json& meta = obj["metadata"];
  if (!meta.is_object()) meta = json::object();
  json& a = meta["annotations"];
  if (!a.is_object()) a = json::object();
  return a;
}

json ToV1beta1(json obj) {
  const json spec = SpecOf(obj);
  json out = json::object();
  json kept = json::object();  // what v1beta1 cannot say, for the way back
  for (const auto k : kCommon)
    if (auto it = spec.find(k); it != spec.end()) out[std::string(k)] = *it;
  for (const auto k : kTimers) {
    if (auto it = spec.find(k); it != spec.end() && !it->is_null())
      out[std::string(k)] = *it;
    else
      kept[std::string(k)] = nullptr;  // unset, not 0s
  }
  for (const auto k : kV1beta2Only)
    if (auto it = spec.find(k); it != spec.end()) kept[std::string(k)] = *it;
  obj["spec"] = std::move(out);
  json& ann = Annotations(obj);
  ann.erase(kV1beta2FieldsAnnotation);
  if (!kept.empty()) ann[kV1beta2FieldsAnnotation] = kept.dump();
  return obj;
}

json ToV1beta2(json obj) {
  const json spec = SpecOf(obj);
  json out = json::object();
  for (const auto k : kCommon)
    if (auto it = spec.find(k); it != spec.end()) out[std::string(k)] = *it;
  for (const auto k : kTimers) {
    const auto it = spec.find(k);
    out[std::string(k)] = it != spec.end() && !it->is_null() ? *it : json("0s");
  }
  // Restore what a v1beta1 copy of a v1beta2 object carried aside. Fields the v1beta1 object
  // itself states win: a timer set while it was v1beta1 is kept.
  json kept;
  if (const auto m = obj.find("metadata"); m != obj.end() && m->is_object()) {
    if (const auto a = m->find("annotations"); a != m->end() && a->is_object()) {
      if (const auto k = a->find(kV1beta2FieldsAnnotation); k != a->end() && k->is_string())
        kept = json::parse(k->get<std::string>(), nullptr, /*allow_exceptions=*/false);
    }
  }
  if (kept.is_object()) {
    for (const auto k : kTimers) {
      const std::string key(k);
      if (kept.contains(key) && kept[key].is_null() && !spec.contains(key)) out.erase(key);
    }
    for (const auto k : kV1beta2Only) {
      const std::string key(k);
      if (kept.contains(key) && !kept[key].is_null()) out[key] = kept[key];
    }
  }
  obj["spec"] = std::move(out);
  if (auto m = obj.find("metadata"); m != obj.end() && m->is_object()) {
    if (auto a = m->find("annotations"); a != m->end() && a->is_object()) {
      a->erase(kV1beta2FieldsAnnotation);
      if (a->empty()) m->erase("annotations");
    }
  }
  return obj;
}

}  // namespace

json ConvertBGPPeer(const json& obj, const std::string& desired) {
  if (!obj.is_object()) throw std::invalid_argument("object is not a JSON object");
  const std::string kind = obj.value("kind", "");
  const std::string from = obj.value("apiVersion", "");
  if (kind != "BGPPeer") throw std::invalid_argument("cannot convert kind \"" + kind + "\"");
  if (from != kBGPPeerV1beta1 && from != kBGPPeerV1beta2)
    throw std::invalid_argument("cannot convert from \"" + from + "\"");
  if (desired != kBGPPeerV1beta1 && desired != kBGPPeerV1beta2)
    throw std::invalid_argument("cannot convert to \"" + desired + "\"");
  if (from == desired) return obj;
  json out = desired == kBGPPeerV1beta1 ? ToV1beta1(obj) : ToV1beta2(obj);
  out["apiVersion"] = desired;
  return out;
}

json ReviewConversion(const json& review) {
  json response = {{"uid", ""}};
  try {
    if (!review.is_object()) throw std::invalid_argument("body is not a JSON object");
    if (review.value("kind", "") != "ConversionReview" ||
        review.value("apiVersion", "") != "apiextensions.k8s.io/v1")
      throw std::invalid_argument("expected an apiextensions.k8s.io/v1 ConversionReview");
    const auto req = review.find("request");
    if (req == review.end() || !req->is_object()) throw std::invalid_argument("no request");
    response["uid"] = req->value("uid", "");
    const std::string desired = req->value("desiredAPIVersion", "");
    json converted = json::array();
    const auto objects = req->find("objects");
    if (objects == req->end() || !objects->is_array())
      throw std::invalid_argument("request.objects is not a list");
    for (size_t i = 0; i < objects->size(); ++i) {
      try {
        converted.push_back(ConvertBGPPeer((*objects)[i], desired));
      } catch (const std::exception& e) {
        throw std::invalid_argument("objects[" + std::to_string(i) + "]: " + e.what());
      }
    }
    response["convertedObjects"] = std::move(converted);
    response["result"] = {{"metadata", json::object()}, {"status", "Success"}};
  } catch (const std::exception& e) {
    response.erase("convertedObjects");
    response["result"] = {
        {"metadata", json::object()}, {"status", "Failed"}, {"message", e.what()}};
  }
  return {{"kind", "ConversionReview"},
          {"apiVersion", "apiextensions.k8s.io/v1"},
          {"response", std::move(response)}};
}

}  // namespace ironlb::kube
