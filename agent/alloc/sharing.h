// Who uses one address, and MetalLB's rules for sharing it: same allow-shared-ip key, no common
// port+protocol, same traffic policy (all Cluster, or all Local with the same pod selector).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "alloc/request.h"

namespace ironlb::alloc {

// The part of a Service that must agree between sharers besides the key: "" for Cluster
// traffic policy (any backends may share), the selector for Local (traffic stays on the nodes
// of the same pods, so sharers must have the same pods).
std::string BackendKey(const Request& req);

struct IpUse {
  std::set<std::string> services;
  std::string sharing_key;  // of the users; they all agree (or there is a single user)
  std::string backend_key;
  std::map<PortProto, std::string> ports;  // port -> Service using it
};

// Why `svc` (with these ports and keys) cannot use an address with current users `use`, or
// nullopt when it can. A Service that is the address's only user may change its keys.
std::optional<std::string> SharingConflict(const IPAddr& ip, const IpUse& use,
                                           const std::string& svc,
                                           const std::vector<PortProto>& ports,
                                           const std::string& sharing_key,
                                           const std::string& backend_key);

}  // namespace ironlb::alloc
