#include "config/decode_kinds.h"

namespace ironlb::config {

ObjectMeta ReadMeta(Document& doc) {
  ObjectMeta m;
  m.api_version = doc.api_version;
  m.source = doc.file;
  Fields f(doc.top.Get("metadata"), doc.top.Path("metadata"));
  m.name = ReadString(f.Get("name"), f.Path("name"));
  m.ns = ReadString(f.Get("namespace"), f.Path("namespace"));
  m.labels = ReadStringMap(f.Get("labels"), f.Path("labels"));
  m.annotations = ReadStringMap(f.Get("annotations"), f.Path("annotations"));
  const YAML::Node rv = f.Get("resourceVersion");
  if (IsSet(rv) && rv.IsScalar()) m.resource_version = rv.Scalar();
  const YAML::Node uid = f.Get("uid");
  if (IsSet(uid) && uid.IsScalar()) m.uid = uid.Scalar();
  if (m.name.empty() && !IsSet(f.Get("generateName"))) {
    throw DecodeFailure(f.Path("name"), "metadata.name is required");
  }
  return m;
}

}  // namespace ironlb::config
