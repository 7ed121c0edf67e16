#include "model/selector.h"

#include <algorithm>

namespace ironlb {

const char* OpName(LabelRequirement::Op op) {
  switch (op) {
    case LabelRequirement::Op::kIn: return "In";
    case LabelRequirement::Op::kNotIn: return "NotIn";
    case LabelRequirement::Op::kExists: return "Exists";
    case LabelRequirement::Op::kDoesNotExist: return "DoesNotExist";
  }
  return "?";
}

bool LabelRequirement::Matches(const Labels& labels) const {
  auto it = labels.find(key);
  const bool has = it != labels.end();
  auto in_values = [&] {
    return has && std::find(values.begin(), values.end(), it->second) != values.end();
  };
  switch (op) {
    case Op::kIn: return in_values();
    case Op::kNotIn: return !in_values();
    case Op::kExists: return has;
    case Op::kDoesNotExist: return !has;
  }
  return false;
}

bool LabelSelector::Matches(const Labels& labels) const {
  for (const auto& [k, v] : match_labels) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  for (const auto& r : match_expressions) {
    if (!r.Matches(labels)) return false;
  }
  return true;
}

LabelSelector LabelSelector::Canonical() const {
  LabelSelector c = *this;
  for (auto& r : c.match_expressions) std::sort(r.values.begin(), r.values.end());
  return c;
}

std::string LabelSelector::str() const {
  std::string s = "{";
  bool first = true;
  for (const auto& [k, v] : match_labels) {
    s += (first ? "" : ",") + k + "=" + v;
    first = false;
  }
  for (const auto& r : match_expressions) {
    s += (first ? "" : ",") + r.key + " " + OpName(r.op);
    if (!r.values.empty()) {
      s += " (";
      for (size_t i = 0; i < r.values.size(); ++i) s += (i ? "," : "") + r.values[i];
      s += ")";
    }
    first = false;
  }
  return s + "}";
}

bool AnyMatches(const std::vector<LabelSelector>& selectors, const Labels& labels) {
  if (selectors.empty()) return true;
  for (const auto& s : selectors) {
    if (s.Matches(labels)) return true;
  }
  return false;
}

}  // namespace ironlb
