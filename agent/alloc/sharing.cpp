#include "alloc/sharing.h"

namespace ironlb::alloc {
namespace {

std::string Join(const std::set<std::string>& s, const std::string& skip) {
  std::string out;
  for (const auto& x : s) {
    if (x == skip) continue;
    if (!out.empty()) out += ", ";
    out += x;
  }
  return out;
}

std::string DescribeBackend(const std::string& backend) {
  return backend.empty() ? "externalTrafficPolicy Cluster"
                         : "externalTrafficPolicy Local with selector " + backend;
}

}  // namespace

std::string BackendKey(const Request& req) {
  if (!req.etp_local) return "";
  std::string s = "{";
  for (const auto& [k, v] : req.selector) {
    if (s.size() > 1) s += ",";
    s += k;
    s += "=";
    s += v;
  }
  return s + "}";
}

std::optional<std::string> SharingConflict(const IPAddr& ip, const IpUse& use,
                                           const std::string& svc,
                                           const std::vector<PortProto>& ports,
                                           const std::string& sharing_key,
                                           const std::string& backend_key) {
  const std::string others = Join(use.services, svc);
  if (others.empty()) return std::nullopt;
  const std::string where = "address " + ip.str() + " is in use by " + others;
  if (use.sharing_key.empty()) return where + ", which does not allow sharing";
  if (sharing_key.empty()) return where + " and this Service sets no allow-shared-ip key";
  if (use.sharing_key != sharing_key) {
    return where + " with allow-shared-ip \"" + use.sharing_key + "\", not \"" + sharing_key + "\"";
  }
  if (use.backend_key != backend_key) {
    return where + " with " + DescribeBackend(use.backend_key) + ", not " +
           DescribeBackend(backend_key);
  }
  for (const auto& p : ports) {
    auto it = use.ports.find(p);
    if (it != use.ports.end() && it->second != svc) {
      return "port " + p.str() + " on address " + ip.str() + " is already used by " + it->second;
    }
  }
  return std::nullopt;
}

}  // namespace ironlb::alloc
