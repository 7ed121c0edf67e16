// What the allocator needs to know about one LoadBalancer Service, derived from the Service
// object and its namespace's labels; annotation and spec errors become ConfigErrors here.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "model/ip.h"
#include "model/objects.h"
#include "model/selector.h"
#include "model/snapshot.h"

namespace ironlb::alloc {

// The MetalLB annotation names (without prefix; MetalLBAnnotation adds either prefix).
inline constexpr const char* kAnnotationLoadBalancerIPs = "loadBalancerIPs";
inline constexpr const char* kAnnotationAddressPool = "address-pool";
inline constexpr const char* kAnnotationAllowSharedIP = "allow-shared-ip";
// Written by the controller so users can see which pool an address came from.
inline constexpr const char* kAnnotationIPAllocatedFromPool = "metallb.io/ip-allocated-from-pool";

struct PortProto {
  std::string protocol;
  uint16_t port = 0;
  auto operator<=>(const PortProto&) const = default;
  std::string str() const { return protocol + "/" + std::to_string(port); }
};

struct Request {
  std::string key;  // ns/name
  std::string ns;
  Labels service_labels;
  Labels namespace_labels;
  // Wanted families, primary first (the Service's first ipFamily). One entry: single stack.
  std::vector<Family> families;
  // With two families: RequireDualStack (true) or PreferDualStack (false, best effort).
  bool require_all_families = true;
  std::vector<IPAddr> requested;  // loadBalancerIPs annotation or spec.loadBalancerIP
  std::string pool;               // address-pool annotation
  std::string sharing_key;        // allow-shared-ip annotation
  std::vector<PortProto> ports;
  bool etp_local = false;  // externalTrafficPolicy: Local
  Labels selector;         // spec.selector, part of the sharing rule for Local Services
  std::string lb_class;    // spec.loadBalancerClass
};

// Derives the allocation request. Errors name the Service and the annotation or spec field.
std::variant<Request, ConfigError> RequestFromService(const Service& svc,
                                                      const Labels& namespace_labels);

// Whether this controller serves the Service: type LoadBalancer and the loadBalancerClass we
// were started with (empty = only Services without a class, as MetalLB does by default).
bool IsOurLoadBalancer(const Service& svc, std::string_view our_class = {});

}  // namespace ironlb::alloc
