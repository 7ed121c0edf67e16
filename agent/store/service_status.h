// A Service's assignment on disk: the standalone stand-in for status.loadBalancer.ingress,
// one JSON file per Service under <config>/status/, and how a store folds it into the Service.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/objects.h"
#include "model/service_status.h"

namespace ironlb {

// Annotation MetalLB sets on a Service to record which pool its IP came from.
inline constexpr const char* kAllocatedFromPoolAnnotation = "metallb.io/ip-allocated-from-pool";

nlohmann::json ToJson(const ServiceStatus& s);
// Throws std::runtime_error naming the missing or mistyped field.
ServiceStatus ServiceStatusFromJson(const nlohmann::json& j);

// Status files are named after the Service, so a name must be what Kubernetes allows (a DNS-1123
// label for the namespace, a DNS-1123 subdomain for the name) before it becomes a path: anything
// else could point outside status/. Throws std::invalid_argument naming the bad part.
void CheckStatusName(const std::string& ns, const std::string& name);

// File name for a Service's status: "<namespace>_<name>.json" (both are DNS labels/subdomains,
// which cannot contain '_', so the mapping is unambiguous).
std::string StatusFileName(const std::string& ns, const std::string& name);

// Writes `s` to dir/StatusFileName atomically (temp file, fsync, rename), so a reader never
// sees a half-written file. Throws std::system_error on I/O failure.
void WriteStatusFile(const std::string& dir, const ServiceStatus& s);
void RemoveStatusFile(const std::string& dir, const std::string& ns, const std::string& name);

// Reads every regular *.json file in dir (never blocking on a FIFO); unreadable files are
// reported through `errors` and skipped.
std::vector<ServiceStatus> ReadStatusDir(const std::string& dir, std::vector<std::string>* errors);

// Copies the assignment into the Service the way the API server would show it to a speaker:
// status.loadBalancer.ingress and the allocated-from-pool annotation.
void ApplyStatusToService(const ServiceStatus& s, Service* svc);

}  // namespace ironlb
