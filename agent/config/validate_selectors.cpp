#include <algorithm>
#include <cctype>

#include "config/names.h"
#include "config/validate_rules.h"

namespace ironlb::config {
namespace {

constexpr size_t kMaxLabelName = 63;  // RFC 1123 label

bool AlnumChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], at most 63 characters.
bool ValidLabelName(const std::string& s) {
  return !s.empty() && s.size() <= kMaxLabelName && AlnumChar(s.front()) && AlnumChar(s.back()) &&
         std::all_of(s.begin(), s.end(),
                     [](char c) { return AlnumChar(c) || c == '-' || c == '_' || c == '.'; });
}

bool ValidLabelKey(const std::string& key, std::string* why) {
  const size_t slash = key.find('/');
  std::string name = key;
  if (slash != std::string::npos) {
    const std::string prefix = key.substr(0, slash);
    if (!IsDns1123Subdomain(prefix)) {
      *why = "the prefix of label key \"" + key + "\" must be a DNS subdomain";
      return false;
    }
    name = key.substr(slash + 1);
  }
  if (!ValidLabelName(name)) {
    *why = "label key \"" + key +
           "\" must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a "
           "letter or digit";
    return false;
  }
  return true;
}

bool ValidLabelValue(const std::string& v) {
  return v.empty() || ValidLabelName(v);
}

}  // namespace

void CheckSelector(const LabelSelector& s, const std::string& path, ObjectErrors* errs) {
  std::string why;
  for (const auto& [k, v] : s.match_labels) {
    const std::string p = path + ".matchLabels[" + k + "]";
    if (!ValidLabelKey(k, &why)) errs->Add(p, why);
    if (!ValidLabelValue(v)) {
      errs->Add(p, "label value \"" + v + "\" must be at most 63 letters, digits, '-', '_' or '.'");
    }
  }
  for (size_t i = 0; i < s.match_expressions.size(); ++i) {
    const LabelRequirement& r = s.match_expressions[i];
    const std::string p = path + ".matchExpressions[" + std::to_string(i) + "]";
    if (!ValidLabelKey(r.key, &why)) errs->Add(p + ".key", why);
    const bool set_op = r.op == LabelRequirement::Op::kIn || r.op == LabelRequirement::Op::kNotIn;
    if (set_op && r.values.empty()) {
      errs->Add(p + ".values",
                std::string("operator ") + OpName(r.op) + " needs at least one value");
    }
    if (!set_op && !r.values.empty()) {
      errs->Add(p + ".values", std::string("operator ") + OpName(r.op) + " takes no values");
    }
    for (size_t j = 0; j < r.values.size(); ++j) {
      if (!ValidLabelValue(r.values[j])) {
        errs->Add(p + ".values[" + std::to_string(j) + "]",
                  "label value \"" + r.values[j] +
                      "\" must be at most 63 letters, digits, '-', '_' or '.'");
      }
    }
    CheckNoDuplicates(r.values, p + ".values", "value", errs);
    LabelRequirement ri = r;
    std::sort(ri.values.begin(), ri.values.end());
    for (size_t j = 0; j < i; ++j) {
      LabelRequirement rj = s.match_expressions[j];
      std::sort(rj.values.begin(), rj.values.end());
      if (ri == rj) {
        errs->Add(p, "repeats matchExpressions[" + std::to_string(j) + "] (" + r.key + " " +
                         OpName(r.op) + ")");
        break;
      }
    }
  }
}

void CheckSelectors(const std::vector<LabelSelector>& selectors, const std::string& path,
                    ObjectErrors* errs) {
  for (size_t i = 0; i < selectors.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    CheckSelector(selectors[i], p, errs);
    const LabelSelector ci = selectors[i].Canonical();
    for (size_t j = 0; j < i; ++j) {
      if (selectors[j].Canonical() == ci) {
        errs->Add(p, "duplicate of " + path + "[" + std::to_string(j) + "] (" + ci.str() + ")");
        break;
      }
    }
  }
}

void CheckNoDuplicates(const std::vector<std::string>& values, const std::string& path,
                       const char* what, ObjectErrors* errs) {
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (values[i] == values[j]) {
        errs->Add(path + "[" + std::to_string(i) + "]",
                  std::string("duplicate ") + what + " \"" + values[i] + "\"");
        break;
      }
    }
  }
}

std::set<std::string> SelectedNodes(const std::vector<Node>& nodes,
                                    const std::vector<LabelSelector>& selectors) {
  std::set<std::string> out;
  for (const Node& n : nodes) {
    if (AnyMatches(selectors, n.meta.labels)) out.insert(n.meta.name);
  }
  return out;
}

}  // namespace ironlb::config
