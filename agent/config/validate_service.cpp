// Per-Service checks of MetalLB's allocation inputs, reported when the Service is read rather
// than when allocation fails.
#include <algorithm>

#include "config/validate.h"

namespace ironlb::config {
namespace {

constexpr const char* kLoadBalancerIPs = "loadBalancerIPs";

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == ',') {
      out.emplace_back();
    } else {
      out.back().push_back(c);
    }
  }
  return out;
}

// The annotation key as the user wrote it (either prefix).
std::string AnnotationKey(const ObjectMeta& m, const std::string& name) {
  for (const char* p : kAnnotationPrefixes) {
    if (m.annotations.count(std::string(p) + name)) return std::string(p) + name;
  }
  return std::string(kAnnotationPrefixes[0]) + name;
}

}  // namespace

std::vector<ConfigError> ValidateService(const Service& svc) {
  std::vector<ConfigError> errs;
  if (svc.type != "LoadBalancer") return errs;
  auto add = [&](std::string field, std::string message) {
    errs.push_back(ConfigError{svc.meta.source, svc.ref(), std::move(field), std::move(message)});
  };
  const auto ips = MetalLBAnnotation(svc.meta, kLoadBalancerIPs);
  const std::string ips_field =
      "metadata.annotations[" + AnnotationKey(svc.meta, kLoadBalancerIPs) + "]";
  if (ips && !svc.load_balancer_ip.empty()) {
    add(ips_field, "set either this annotation or spec.loadBalancerIP, not both");
  }
  std::vector<IPAddr> requested;
  if (ips) {
    for (const std::string& ip : SplitComma(*ips)) {
      auto a = IPAddr::Parse(ip);
      if (!a) {
        add(ips_field, "\"" + ip +
                           "\" is not an IP address (list addresses separated by commas, "
                           "without spaces)");
        continue;
      }
      for (const IPAddr& r : requested) {
        if (r.family() == a->family()) {
          add(ips_field, std::string("requests two ") + FamilyName(a->family()) +
                             " addresses; at most one per family");
        }
      }
      requested.push_back(*a);
    }
  }
  if (!svc.load_balancer_ip.empty()) {
    auto a = IPAddr::Parse(svc.load_balancer_ip);
    if (!a) {
      add("spec.loadBalancerIP", "\"" + svc.load_balancer_ip + "\" is not an IP address");
    } else {
      requested.push_back(*a);
    }
  }
  for (size_t i = 0; i < svc.ip_families.size(); ++i) {
    const std::string& f = svc.ip_families[i];
    if (f != "IPv4" && f != "IPv6") {
      add("spec.ipFamilies[" + std::to_string(i) + "]", "\"" + f + "\" must be IPv4 or IPv6");
    }
  }
  const std::string& policy = svc.ip_family_policy;
  if (!policy.empty() && policy != "SingleStack" && policy != "PreferDualStack" &&
      policy != "RequireDualStack") {
    add("spec.ipFamilyPolicy",
        "\"" + policy + "\" must be SingleStack, PreferDualStack or RequireDualStack");
  }
  if (!svc.ip_families.empty()) {
    for (const IPAddr& r : requested) {
      const std::string fam = FamilyName(r.family());
      if (std::find(svc.ip_families.begin(), svc.ip_families.end(), fam) == svc.ip_families.end()) {
        add(ips ? ips_field : "spec.loadBalancerIP",
            "requests " + r.str() + " but the Service's ipFamilies do not include " + fam);
      }
    }
  }
  return errs;
}

}  // namespace ironlb::config
