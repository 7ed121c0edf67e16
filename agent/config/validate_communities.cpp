#include "config/validate_rules.h"
#include "model/community.h"

namespace ironlb::config {

Errors CheckCommunity(const Community& c, const RuleContext& ctx) {
  ObjectErrors errs("Community", c.meta);
  for (size_t i = 0; i < c.communities.size(); ++i) {
    const CommunityAlias& a = c.communities[i];
    const std::string p = "spec.communities[" + std::to_string(i) + "]";
    if (a.name.empty()) errs.Add(p + ".name", "an alias needs a name");
    std::string error;
    if (ParseCommunity(a.value, nullptr, &error) != CommunityParse::kOk) {
      errs.Add(p + ".value", error);
    }
    for (size_t j = 0; j < i; ++j) {
      if (c.communities[j].name == a.name) {
        errs.Add(p + ".name", "alias \"" + a.name + "\" is defined twice in this object");
        break;
      }
    }
    for (const auto& [other_name, other] : ctx.accepted->communities) {
      if (other_name == c.meta.name) continue;
      for (const CommunityAlias& o : other.communities) {
        if (o.name == a.name && !a.name.empty()) {
          errs.Add(p + ".name",
                   "alias \"" + a.name + "\" is already defined by Community " + other_name);
        }
      }
    }
  }
  return errs.Take();
}

}  // namespace ironlb::config
