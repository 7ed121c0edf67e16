// Kubernetes label selectors (matchLabels + matchExpressions) and their matching rules.
// Shared by pool selection, service allocation, advertisement node/service selectors.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace ironlb {

using Labels = std::map<std::string, std::string>;

struct LabelRequirement {
  enum class Op { kIn, kNotIn, kExists, kDoesNotExist };
  std::string key;
  Op op = Op::kIn;
  std::vector<std::string> values;  // kept as written; Canonical() sorts them

  bool Matches(const Labels& labels) const;
  bool operator==(const LabelRequirement&) const = default;
};

const char* OpName(LabelRequirement::Op op);

struct LabelSelector {
  Labels match_labels;
  std::vector<LabelRequirement> match_expressions;

  // An empty selector matches everything (Kubernetes semantics).
  bool Empty() const { return match_labels.empty() && match_expressions.empty(); }
  bool Matches(const Labels& labels) const;
  // Values sorted, for comparing selectors that differ only in order (MetalLB's duplicate rules).
  LabelSelector Canonical() const;
  std::string str() const;
  bool operator==(const LabelSelector&) const = default;
};

// MetalLB's list semantics: an empty list selects everything; otherwise any selector may match.
bool AnyMatches(const std::vector<LabelSelector>& selectors, const Labels& labels);

}  // namespace ironlb
