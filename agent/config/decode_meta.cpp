#include "config/decode_kinds.h"
#include "config/names.h"

namespace ironlb::config {

namespace {

// The rule the API server applies to each kind's metadata.name.
NameRule RuleFor(const std::string& kind) {
  if (kind == "Service") return NameRule::kDns1035Label;
  if (kind == "Namespace") return NameRule::kDns1123Label;
  return NameRule::kDns1123Subdomain;
}

}  // namespace

ObjectMeta ReadMeta(Document& doc) {
  ObjectMeta m;
  m.api_version = doc.api_version;
  m.source = doc.file;
  Fields f(doc.top.Get("metadata"), doc.top.Path("metadata"));
  m.name = ReadString(f.Get("name"), f.Path("name"));
  m.ns = ReadString(f.Get("namespace"), f.Path("namespace"));
  m.labels = ReadStringMap(f.Get("labels"), f.Path("labels"));
  m.annotations = ReadStringMap(f.Get("annotations"), f.Path("annotations"));
  const YamlNode rv = f.Get("resourceVersion");
  if (IsSet(rv) && rv.IsScalar()) m.resource_version = rv.Scalar();
  const YamlNode uid = f.Get("uid");
  if (IsSet(uid) && uid.IsScalar()) m.uid = uid.Scalar();
  if (m.name.empty() && !IsSet(f.Get("generateName"))) {
    throw DecodeFailure(f.Path("name"), "metadata.name is required");
  }
  // Names become status file names, metric labels and log text: only what Kubernetes allows.
  if (!m.name.empty()) {
    if (auto why = CheckName(m.name, RuleFor(doc.kind))) throw DecodeFailure(f.Path("name"), *why);
  }
  if (!m.ns.empty()) {
    if (auto why = CheckName(m.ns, NameRule::kDns1123Label))
      throw DecodeFailure(f.Path("namespace"), *why);
  }
  return m;
}

}  // namespace ironlb::config
