// A Service's load-balancer assignment as the controller decides it (pool, ingress addresses,
// or why it is pending): the one typed form the controller, the stores and the speakers share.
#pragma once

#include <string>
#include <vector>

#include "model/ip.h"

namespace ironlb {

struct ServiceStatus {
  std::string ns;
  std::string name;
  std::string pool;         // empty while pending
  std::vector<IPAddr> ips;  // ingress addresses, in family order
  std::string error;        // why the Service has no address (pending), or empty

  std::string key() const { return ns + "/" + name; }
  bool operator==(const ServiceStatus&) const = default;
};

}  // namespace ironlb
