#include "alloc/request.h"

#include <algorithm>
#include <optional>
#include <set>

namespace ironlb::alloc {
namespace {

constexpr const char* kPolicySingleStack = "SingleStack";
constexpr const char* kPolicyPreferDualStack = "PreferDualStack";
constexpr const char* kPolicyRequireDualStack = "RequireDualStack";
constexpr const char* kTypeLoadBalancer = "LoadBalancer";
constexpr const char* kTrafficPolicyLocal = "Local";
// A Service has at most one address per family.
constexpr size_t kMaxFamilies = 2;

Family Other(Family f) {
  return f == Family::kV4 ? Family::kV6 : Family::kV4;
}

// The annotation key actually present (current prefix first), for error messages.
std::optional<std::string> AnnotationKey(const ObjectMeta& m, const std::string& name) {
  for (const char* p : kAnnotationPrefixes) {
    std::string k = std::string(p) + name;
    if (m.annotations.count(k)) return k;
  }
  return std::nullopt;
}

std::string Trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

struct Builder {
  const Service& svc;
  ConfigError Error(const std::string& field, const std::string& message) const {
    return ConfigError{svc.meta.source, svc.ref(), field, message};
  }

  std::variant<std::vector<Family>, ConfigError> ListedFamilies() const {
    std::vector<Family> out;
    for (size_t i = 0; i < svc.ip_families.size(); ++i) {
      const std::string field = "spec.ipFamilies[" + std::to_string(i) + "]";
      const std::string& v = svc.ip_families[i];
      Family f;
      if (v == "IPv4") {
        f = Family::kV4;
      } else if (v == "IPv6") {
        f = Family::kV6;
      } else {
        return Error(field, "unknown IP family \"" + v + "\" (want IPv4 or IPv6)");
      }
      if (std::find(out.begin(), out.end(), f) != out.end()) {
        return Error(field, "duplicate IP family " + v);
      }
      out.push_back(f);
    }
    if (out.size() > kMaxFamilies) return Error("spec.ipFamilies", "more than two IP families");
    return out;
  }

  // Kubernetes' rules: SingleStack takes the first family; an unset policy with two families
  // is RequireDualStack (the API server's defaulting); PreferDualStack with exactly one listed
  // family means the cluster is single-stack, so only that family is wanted.
  std::optional<ConfigError> Families(Request& r) const {
    auto listed = ListedFamilies();
    if (auto* e = std::get_if<ConfigError>(&listed)) return *e;
    const auto& fams = std::get<std::vector<Family>>(listed);
    const Family primary = fams.empty() ? Family::kV4 : fams[0];
    const std::string& policy = svc.ip_family_policy;
    r.require_all_families = true;
    if (policy == kPolicySingleStack || (policy.empty() && fams.size() < kMaxFamilies)) {
      r.families = {primary};
    } else if (policy == kPolicyRequireDualStack || policy.empty()) {
      r.families = {primary, Other(primary)};
    } else if (policy == kPolicyPreferDualStack) {
      r.require_all_families = false;
      r.families = fams.size() == 1 ? std::vector<Family>{primary}
                                    : std::vector<Family>{primary, Other(primary)};
    } else {
      return Error("spec.ipFamilyPolicy", "unknown policy \"" + policy +
                                              "\" (want SingleStack, PreferDualStack or "
                                              "RequireDualStack)");
    }
    return std::nullopt;
  }

  std::optional<ConfigError> Requested(Request& r) const {
    const auto ann_key = AnnotationKey(svc.meta, kAnnotationLoadBalancerIPs);
    const auto ann = MetalLBAnnotation(svc.meta, kAnnotationLoadBalancerIPs);
    const bool has_ann = ann && !ann->empty();
    const bool has_spec = !svc.load_balancer_ip.empty();
    if (has_ann && has_spec) {
      return Error("metadata.annotations[" + *ann_key + "]",
                   "cannot be used together with spec.loadBalancerIP");
    }
    std::string field;
    if (has_ann) {
      field = "metadata.annotations[" + *ann_key + "]";
      std::string_view rest = *ann;
      while (true) {
        const auto comma = rest.find(',');
        const std::string item = Trim(rest.substr(0, comma));
        auto ip = IPAddr::Parse(item);
        if (!ip) return Error(field, "invalid IP address \"" + item + "\" in \"" + *ann + "\"");
        r.requested.push_back(*ip);
        if (comma == std::string_view::npos) break;
        rest = rest.substr(comma + 1);
      }
    } else if (has_spec) {
      field = "spec.loadBalancerIP";
      auto ip = IPAddr::Parse(svc.load_balancer_ip);
      if (!ip) return Error(field, "invalid IP address \"" + svc.load_balancer_ip + "\"");
      r.requested.push_back(*ip);
    } else {
      return std::nullopt;
    }
    if (r.requested.size() > kMaxFamilies) {
      return Error(field, "more than two addresses requested");
    }
    if (r.requested.size() == kMaxFamilies && r.requested[0].family() == r.requested[1].family()) {
      return Error(field, "two addresses of the same family (" +
                              std::string(FamilyName(r.requested[0].family())) + ")");
    }
    return RequestedMatchesFamilies(r, field);
  }

  // The requested addresses must be exactly the Service's families; PreferDualStack is best
  // effort, so asking for one of its two families is fine and narrows the request to it.
  std::optional<ConfigError> RequestedMatchesFamilies(Request& r, const std::string& field) const {
    std::set<Family> want(r.families.begin(), r.families.end());
    std::set<Family> got;
    for (const auto& ip : r.requested) got.insert(ip.family());
    const bool subset = std::includes(want.begin(), want.end(), got.begin(), got.end());
    if (got == want || (subset && !r.require_all_families)) {
      std::vector<Family> narrowed;
      for (Family f : r.families) {
        if (got.count(f)) narrowed.push_back(f);
      }
      r.families = narrowed;
      return std::nullopt;
    }
    std::string want_s, got_s;
    for (Family f : r.families) {
      if (!want_s.empty()) want_s += ",";
      want_s += FamilyName(f);
    }
    for (const auto& ip : r.requested) {
      if (!got_s.empty()) got_s += ",";
      got_s += ip.str();
    }
    return Error(field, "requested address(es) " + got_s +
                            " do not match the Service's IP families (" + want_s + ")");
  }
};

}  // namespace

std::variant<Request, ConfigError> RequestFromService(const Service& svc,
                                                      const Labels& namespace_labels) {
  Builder b{svc};
  Request r;
  r.key = svc.key();
  r.ns = svc.meta.ns;
  r.service_labels = svc.meta.labels;
  r.namespace_labels = namespace_labels;
  if (auto e = b.Families(r)) return *e;
  if (auto e = b.Requested(r)) return *e;
  r.pool = MetalLBAnnotation(svc.meta, kAnnotationAddressPool).value_or("");
  r.sharing_key = MetalLBAnnotation(svc.meta, kAnnotationAllowSharedIP).value_or("");
  for (const auto& p : svc.ports) r.ports.push_back({p.protocol, p.port});
  r.etp_local = svc.external_traffic_policy == kTrafficPolicyLocal;
  r.selector = svc.selector;
  r.lb_class = svc.load_balancer_class;
  return r;
}

bool IsOurLoadBalancer(const Service& svc, std::string_view our_class) {
  return svc.type == kTypeLoadBalancer && svc.load_balancer_class == our_class;
}

}  // namespace ironlb::alloc
