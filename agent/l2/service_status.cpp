#include "l2/service_status.h"

#include <map>
#include <optional>
#include <set>

namespace ironlb::l2 {

NodeAnnouncements ServiceAnnouncements(const std::vector<Ownership>& owners,
                                       const std::string& node) {
  struct Acc {
    std::set<std::string> owners;
    std::optional<std::set<std::string>> interfaces;  // set once this node owns one of its VIPs
    bool every_interface = false;
  };
  std::map<std::pair<std::string, std::string>, Acc> by_service;
  for (const Ownership& o : owners) {
    if (!o.owner) continue;
    const bool mine = *o.owner == node;
    for (const ObjectRef& svc : o.services) {
      Acc& a = by_service[{svc.ns, svc.name}];
      a.owners.insert(*o.owner);
      if (!mine) continue;
      if (!a.interfaces) a.interfaces.emplace();
      if (o.interfaces.empty()) a.every_interface = true;
      a.interfaces->insert(o.interfaces.begin(), o.interfaces.end());
    }
  }
  NodeAnnouncements out;
  out.protocol = NodeAnnouncements::Protocol::kL2;
  out.node = node;
  for (auto& [svc, a] : by_service) {
    if (!a.interfaces) continue;  // owned elsewhere only
    ServiceAnnouncement s;
    s.ns = svc.first;
    s.name = svc.second;
    if (!a.every_interface) s.interfaces.assign(a.interfaces->begin(), a.interfaces->end());
    s.owners.assign(a.owners.begin(), a.owners.end());
    out.services.push_back(std::move(s));
  }
  return out;
}

}  // namespace ironlb::l2
