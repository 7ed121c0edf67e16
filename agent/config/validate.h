// Validation of the metallb.io objects as MetalLB's webhooks and config.For do it (FRR mode, so
// IPv6, BFD, large communities and graceful restart are allowed), plus checks MetalLB leaves to
// fail later. Pure: no I/O, same input gives the same output.
#pragma once

#include <string>
#include <vector>

#include "model/snapshot.h"

namespace ironlb::config {

struct ValidateOptions {
  // Cluster mode: metallb.io objects outside this namespace are rejected. Empty: any namespace.
  std::string required_namespace;
};

// Returns the configuration in force. A bad object is rejected alone: a new invalid object is
// left out; an invalid edit of an object valid in `previous` keeps the previous version; a
// cross-object conflict rejects the later object (previously valid objects first, then by
// name). state->errors lists every error in force, decode errors of `snap` included.
// Fills IPAddressPool::ranges, BGPPeer::address and BGPPeer::resolved_password.
Config Validate(const Snapshot& snap, const Config& previous, const ValidateOptions& opts,
                ConfigState* state);

// Problems with one Service's load-balancer settings (annotations, spec.loadBalancerIP) that
// MetalLB would only report when allocating. Empty for Services that are not LoadBalancers.
std::vector<ConfigError> ValidateService(const Service& svc);

}  // namespace ironlb::config
