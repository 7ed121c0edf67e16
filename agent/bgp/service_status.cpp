#include "bgp/service_status.h"

#include <algorithm>
#include <set>

namespace ironlb::bgp {

NodeAnnouncements ServiceAnnouncements(const Model& model, const Announcements& ann,
                                       const std::string& node) {
  NodeAnnouncements out;
  out.protocol = NodeAnnouncements::Protocol::kBgp;
  out.node = node;
  struct PeerPrefixes {
    const std::string* name;
    const PeerRoutes* routes;
    std::set<int> lengths;
  };
  std::vector<PeerPrefixes> peers;
  for (const auto& [name, routes] : ann.by_peer) {
    if (routes.empty()) continue;
    PeerPrefixes p{&name, &routes, {}};
    for (const auto& [prefix, attrs] : routes) p.lengths.insert(prefix.length);
    peers.push_back(std::move(p));
  }
  if (peers.empty()) return out;
  for (const Service& svc : model.snap().services) {
    if (svc.type != "LoadBalancer") continue;
    const std::vector<IPAddr> ips = model.Ingress(svc);
    ServiceAnnouncement s;
    for (const PeerPrefixes& p : peers) {  // by_peer is a map: names come sorted
      bool covered = false;
      for (const IPAddr& ip : ips) {
        for (int len : p.lengths) {
          const auto prefix = IPPrefix::Containing(ip, len);
          if (prefix && p.routes->count(*prefix)) covered = true;
        }
      }
      if (covered) s.peers.push_back(*p.name);
    }
    if (s.peers.empty()) continue;
    s.ns = svc.meta.ns;
    s.name = svc.meta.name;
    out.services.push_back(std::move(s));
  }
  std::sort(
      out.services.begin(), out.services.end(),
      [](const ServiceAnnouncement& a, const ServiceAnnouncement& b) { return a.key() < b.key(); });
  return out;
}

}  // namespace ironlb::bgp
