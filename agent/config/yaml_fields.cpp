#include "config/yaml_fields.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "config/duration.h"
#include "config/yaml_scalar.h"

namespace ironlb::config {
namespace {

bool EqualFold(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// How Go's YAML decoder (YAML 1.1 resolution, then JSON) types a plain scalar.
enum class ScalarType { kNull, kBool, kNumber, kString };

ScalarType Resolve(const YamlNode& n) {
  if (n.IsNull()) return ScalarType::kNull;
  // Quoted scalars carry the non-specific tag "!"; plain ones "?".
  if (n.Tag() != "?") return ScalarType::kString;
  const std::string_view s = n.Scalar();
  if (IsYamlBool(s)) return ScalarType::kBool;
  if (IsYamlNumber(s)) return ScalarType::kNumber;
  return ScalarType::kString;
}

const char* Describe(const YamlNode& n) {
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  switch (Resolve(n)) {
    case ScalarType::kNull: return "null";
    case ScalarType::kBool: return "a boolean";
    case ScalarType::kNumber: return "a number";
    case ScalarType::kString: return "a string";
  }
  return "a value";
}

[[noreturn]] void WrongType(const YamlNode& n, const std::string& path, const char* want) {
  std::string msg = std::string("expected ") + want + ", got " + Describe(n);
  if (n.IsScalar()) msg.append(" (").append(n.Scalar()).append(")");
  if (n.IsScalar() && std::string(want) == "a string") msg += "; quote it to make it a string";
  throw DecodeFailure(path, msg);
}

}  // namespace

std::string JoinPath(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string IndexPath(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

bool IsSet(const YamlNode& n) {
  return n.IsDefined() && !n.IsNull();
}

Fields::Fields(const YamlNode& node, std::string path) : node_(node), path_(std::move(path)) {
  if (IsSet(node_) && !node_.IsMap()) WrongType(node_, path_, "a mapping");
}

YamlNode Fields::Get(std::string_view key) {
  if (!IsSet(node_)) return YamlNode();
  // An exact match wins over a case-insensitive one, as in encoding/json.
  for (const auto& kv : node_) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) {
      used_.push_back(kv.first.Scalar());
      return kv.second;
    }
  }
  for (const auto& kv : node_) {
    if (kv.first.IsScalar() && EqualFold(kv.first.Scalar(), key)) {
      used_.push_back(kv.first.Scalar());
      return kv.second;
    }
  }
  return YamlNode();
}

bool Fields::Has(std::string_view key) {
  return IsSet(Get(key));
}

void Fields::RejectUnknown() const {
  if (!IsSet(node_)) return;
  for (const auto& kv : node_) {
    const std::string_view key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    if (std::find(used_.begin(), used_.end(), key) == used_.end()) {
      throw DecodeFailure(JoinPath(path_, key), "unknown field \"" + std::string(key) + "\"");
    }
  }
}

std::string ReadString(const YamlNode& n, const std::string& path) {
  if (!n.IsDefined() || n.IsNull()) return "";
  if (!n.IsScalar() || Resolve(n) != ScalarType::kString) WrongType(n, path, "a string");
  return std::string(n.Scalar());
}

bool ReadBool(const YamlNode& n, const std::string& path) {
  if (!IsSet(n)) return false;
  if (!n.IsScalar() || Resolve(n) != ScalarType::kBool) WrongType(n, path, "true or false");
  return IsYamlTrue(n.Scalar());
}

int64_t ReadInt(const YamlNode& n, const std::string& path, int64_t min, int64_t max) {
  if (!IsSet(n)) return 0;
  if (!n.IsScalar() || Resolve(n) != ScalarType::kNumber) WrongType(n, path, "an integer");
  std::string s(n.Scalar());
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  size_t used = 0;
  long long v = 0;
  try {
    const bool hex = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    v = hex ? std::stoll(s.substr(2), &used, 16) : std::stoll(s, &used, 10);
    if (hex) used += 2;
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size()) WrongType(n, path, "an integer");
  if (v < min || v > max) {
    throw DecodeFailure(path, "value " + std::string(n.Scalar()) + " is out of range " +
                                  std::to_string(min) + ".." + std::to_string(max));
  }
  return v;
}

uint32_t ReadUint32(const YamlNode& n, const std::string& path) {
  return static_cast<uint32_t>(ReadInt(n, path, 0, std::numeric_limits<uint32_t>::max()));
}

Duration ReadDuration(const YamlNode& n, const std::string& path) {
  const std::string s = ReadString(n, path);
  std::string error;
  auto d = ParseGoDuration(s, &error);
  if (!d) throw DecodeFailure(path, error + " (write it with a unit, e.g. \"90s\" or \"1m30s\")");
  return *d;
}

std::vector<std::string> ReadStringList(const YamlNode& n, const std::string& path) {
  std::vector<std::string> out;
  ForEachItem(n, path, [&](const YamlNode& item, const std::string& p) {
    out.push_back(ReadString(item, p));
  });
  return out;
}

Labels ReadStringMap(const YamlNode& n, const std::string& path) {
  Labels out;
  if (!IsSet(n)) return out;
  if (!n.IsMap()) WrongType(n, path, "a mapping");
  for (const auto& kv : n) {
    const std::string key(kv.first.IsScalar() ? kv.first.Scalar() : "?");
    out[key] = ReadString(kv.second, JoinPath(path, key));
  }
  return out;
}

std::string ReadIntOrString(const YamlNode& n, const std::string& path) {
  if (!IsSet(n)) return "";
  if (!n.IsScalar() || Resolve(n) == ScalarType::kBool) WrongType(n, path, "a port number or name");
  return std::string(n.Scalar());
}

LabelRequirement ReadLabelRequirement(const YamlNode& n, const std::string& path) {
  Fields e(n, path);
  LabelRequirement r;
  r.key = ReadString(e.Get("key"), e.Path("key"));
  const std::string op = ReadString(e.Get("operator"), e.Path("operator"));
  if (op == "In") {
    r.op = LabelRequirement::Op::kIn;
  } else if (op == "NotIn") {
    r.op = LabelRequirement::Op::kNotIn;
  } else if (op == "Exists") {
    r.op = LabelRequirement::Op::kExists;
  } else if (op == "DoesNotExist") {
    r.op = LabelRequirement::Op::kDoesNotExist;
  } else {
    throw DecodeFailure(e.Path("operator"),
                        "\"" + op +
                            "\" is not a label selector operator (use In, NotIn, Exists or "
                            "DoesNotExist)");
  }
  r.values = ReadStringList(e.Get("values"), e.Path("values"));
  e.RejectUnknown();
  return r;
}

LabelSelector ReadLabelSelector(const YamlNode& n, const std::string& path) {
  LabelSelector sel;
  Fields f(n, path);
  sel.match_labels = ReadStringMap(f.Get("matchLabels"), f.Path("matchLabels"));
  ForEachItem(f.Get("matchExpressions"), f.Path("matchExpressions"),
              [&](const YamlNode& item, const std::string& p) {
                sel.match_expressions.push_back(ReadLabelRequirement(item, p));
              });
  f.RejectUnknown();
  return sel;
}

std::vector<LabelSelector> ReadLabelSelectors(const YamlNode& n, const std::string& path) {
  std::vector<LabelSelector> out;
  ForEachItem(n, path, [&](const YamlNode& item, const std::string& p) {
    out.push_back(ReadLabelSelector(item, p));
  });
  return out;
}

}  // namespace ironlb::config
