#include "kube/api_object.h"

#include "config/decode.h"

namespace ironlb::kube {

namespace {
std::string MetaString(const nlohmann::json& obj, const char* key) {
  const auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return "";
  const auto v = m->find(key);
  return v != m->end() && v->is_string() ? v->get<std::string>() : "";
}
}  // namespace

std::string ResourceVersionOf(const nlohmann::json& obj) {
  return MetaString(obj, "resourceVersion");
}

std::string KeyOf(const nlohmann::json& obj) {
  const std::string ns = MetaString(obj, "namespace");
  const std::string name = MetaString(obj, "name");
  return ns.empty() ? name : ns + "/" + name;
}

Snapshot DecodeApiObject(nlohmann::json obj, const std::string& api_version,
                         const std::string& kind) {
  if (obj.is_object()) {
    if (!obj.contains("apiVersion")) obj["apiVersion"] = api_version;
    if (!obj.contains("kind")) obj["kind"] = kind;
    auto m = obj.find("metadata");
    if (m != obj.end() && m->is_object()) m->erase("managedFields");
  }
  Snapshot out;
  // JSON is YAML; one line, so no document marker can split it.
  config::DecodeYaml(obj.dump(), "api", &out);
  return out;
}

}  // namespace ironlb::kube
