// A Service's load-balancer status as the controller decides it: the standalone stand-in for
// status.loadBalancer.ingress, written as one JSON file per Service under <config>/status/.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "model/objects.h"

namespace ironlb {

struct ServiceStatus {
  std::string ns;
  std::string name;
  std::string pool;              // empty while pending
  std::vector<std::string> ips;  // ingress IPs, in family order
  std::string error;             // why the Service has no IP (pending), or empty

  std::string key() const { return ns + "/" + name; }
  bool operator==(const ServiceStatus&) const = default;
};

// Annotation MetalLB sets on a Service to record which pool its IP came from.
inline constexpr const char* kAllocatedFromPoolAnnotation = "metallb.io/ip-allocated-from-pool";

nlohmann::json ToJson(const ServiceStatus& s);
// Throws std::runtime_error naming the missing or mistyped field.
ServiceStatus ServiceStatusFromJson(const nlohmann::json& j);

// File name for a Service's status: "<namespace>_<name>.json" (both are DNS labels/subdomains,
// which cannot contain '_', so the mapping is unambiguous).
std::string StatusFileName(const std::string& ns, const std::string& name);

// Writes `s` to dir/StatusFileName atomically (temp file, fsync, rename), so a reader never
// sees a half-written file. Throws std::system_error on I/O failure.
void WriteStatusFile(const std::string& dir, const ServiceStatus& s);
void RemoveStatusFile(const std::string& dir, const std::string& ns, const std::string& name);

// Reads every *.json in dir; unreadable files are reported through `errors` and skipped.
std::vector<ServiceStatus> ReadStatusDir(const std::string& dir, std::vector<std::string>* errors);

// Copies the assignment into the Service the way the API server would show it to a speaker:
// status.loadBalancer.ingress and the allocated-from-pool annotation.
void ApplyStatusToService(const ServiceStatus& s, Service* svc);

}  // namespace ironlb
