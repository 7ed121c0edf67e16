// Strict, typed reading of YAML nodes the way MetalLB's decoder reads JSON: field names match
// case-insensitively (Go's encoding/json), unknown fields and wrong scalar types are errors.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/yaml_tree.h"
#include "model/objects.h"

namespace ironlb::config {

// Thrown while decoding one document; caught per document and turned into a ConfigError.
struct DecodeFailure : std::runtime_error {
  DecodeFailure(std::string field_path, const std::string& message)
      : std::runtime_error(message), field(std::move(field_path)) {}
  std::string field;
};

// Joins a parent path and a key: Join("spec", "addresses") == "spec.addresses".
std::string JoinPath(const std::string& parent, std::string_view key);
std::string IndexPath(const std::string& parent, size_t index);

// A mapping being decoded. Get() marks a field as known; RejectUnknown() then fails on the
// first field nobody asked for.
class Fields {
 public:
  // `node` must be a mapping or null (null reads as empty).
  Fields(const YamlNode& node, std::string path);

  // The value of `key` (matched case-insensitively) or an undefined node.
  YamlNode Get(std::string_view key);
  bool Has(std::string_view key);
  std::string Path(std::string_view key) const { return JoinPath(path_, key); }
  const std::string& path() const { return path_; }
  void RejectUnknown() const;

 private:
  YamlNode node_;
  std::string path_;
  std::vector<std::string_view> used_;  // keys as written that were asked for (in the tree)
};

// Present and not null.
bool IsSet(const YamlNode& n);

std::string ReadString(const YamlNode& n, const std::string& path);
bool ReadBool(const YamlNode& n, const std::string& path);
int64_t ReadInt(const YamlNode& n, const std::string& path, int64_t min, int64_t max);
uint32_t ReadUint32(const YamlNode& n, const std::string& path);
Duration ReadDuration(const YamlNode& n, const std::string& path);
std::vector<std::string> ReadStringList(const YamlNode& n, const std::string& path);
Labels ReadStringMap(const YamlNode& n, const std::string& path);
// An int-or-string (targetPort), kept as written.
std::string ReadIntOrString(const YamlNode& n, const std::string& path);

// metav1.LabelSelector: matchLabels + matchExpressions {key, operator, values}. The operator
// is checked here because the model stores it as an enum; its error names the operator field.
LabelSelector ReadLabelSelector(const YamlNode& n, const std::string& path);
// One of its matchExpressions ({key, operator, values}).
LabelRequirement ReadLabelRequirement(const YamlNode& n, const std::string& path);
std::vector<LabelSelector> ReadLabelSelectors(const YamlNode& n, const std::string& path);

// Calls fn(item, "path[i]") for every element of a sequence (null reads as empty).
template <class Fn>
void ForEachItem(const YamlNode& n, const std::string& path, Fn&& fn) {
  if (!IsSet(n)) return;
  if (!n.IsSequence()) throw DecodeFailure(path, "expected a list");
  for (size_t i = 0; i < n.size(); ++i) fn(n[i], IndexPath(path, i));
}

}  // namespace ironlb::config
