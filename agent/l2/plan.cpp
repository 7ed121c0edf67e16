#include "l2/plan.h"

#include <algorithm>
#include <set>

namespace ironlb::l2 {
namespace {

bool CoveredByPool(const IPAddressPool& pool, const IPAddr& vip) {
  return std::any_of(pool.ranges.begin(), pool.ranges.end(),
                     [&](const IPRange& r) { return r.contains(vip); });
}

// Nodes with a ready (not terminating) endpoint of `svc`.
std::set<std::string> NodesWithReadyEndpoint(const Model& model, const Service& svc) {
  std::set<std::string> out;
  for (const EndpointSlice* s : model.Slices(svc))
    for (const Endpoint& e : s->endpoints)
      if (!e.node_name.empty() && EndpointReady(e) && !EndpointTerminating(e))
        out.insert(e.node_name);
  return out;
}

}  // namespace

std::vector<IPAddr> NodeAddresses(const Node& n) {
  std::vector<IPAddr> out;
  for (const char* type : {"InternalIP", "ExternalIP"})
    for (const NodeAddress& a : n.addresses)
      if (a.type == type)
        if (auto ip = IPAddr::Parse(a.address))
          if (std::find(out.begin(), out.end(), *ip) == out.end()) out.push_back(*ip);
  return out;
}

Plan ComputePlan(const Model& model, const std::string& self) {
  const Config& cfg = model.cfg();
  const std::vector<std::string> nodes = model.NodeNames(self);
  Plan plan;
  for (const Node& n : model.snap().nodes)
    if (n.meta.name != self) plan.peers[n.meta.name] = NodeAddresses(n);

  // Which nodes each advertisement selects does not depend on the VIP: once per pass.
  std::map<std::string, std::vector<std::string>> selected;  // advertisement -> nodes
  for (const auto& [aname, ad] : cfg.l2_advertisements)
    for (const auto& n : nodes)
      if (model.NodeMayAnnounce(n) && AnyMatches(ad.node_selectors, model.NodeLabels(n)))
        selected[aname].push_back(n);

  struct Acc {
    VipPlan vp;
    std::set<std::string> eligible, ifaces;
    bool all_ifaces = false;
  };
  std::map<IPAddr, Acc> by_vip;
  for (const Service& svc : model.snap().services) {
    if (svc.type != "LoadBalancer") continue;
    const bool local = svc.external_traffic_policy == "Local";
    std::set<std::string> with_endpoint;
    if (local) with_endpoint = NodesWithReadyEndpoint(model, svc);
    for (const IPAddr& vip : model.Ingress(svc)) {
      bool announced = false;
      Acc acc;
      for (const auto& [pname, pool] : cfg.pools) {
        if (!CoveredByPool(pool, vip)) continue;
        for (const auto& [aname, ad] : cfg.l2_advertisements) {
          if (!SelectsPool(ad.ip_address_pools, ad.ip_address_pool_selectors, pool)) continue;
          announced = true;
          for (const auto& n : selected[aname]) {
            if (local && !with_endpoint.count(n)) continue;
            acc.eligible.insert(n);
            if (n != self) continue;
            if (ad.interfaces.empty()) acc.all_ifaces = true;
            acc.ifaces.insert(ad.interfaces.begin(), ad.interfaces.end());
          }
        }
      }
      if (!announced) continue;
      // Several Services on one VIP (sharing key): the union of what each allows.
      Acc& a = by_vip[vip];
      a.vp.vip = vip;
      a.vp.services.push_back(svc.ref());
      a.eligible.insert(acc.eligible.begin(), acc.eligible.end());
      a.ifaces.insert(acc.ifaces.begin(), acc.ifaces.end());
      a.all_ifaces = a.all_ifaces || acc.all_ifaces;
    }
  }
  for (auto& [vip, a] : by_vip) {
    a.vp.eligible.assign(a.eligible.begin(), a.eligible.end());
    if (!a.all_ifaces) a.vp.interfaces.assign(a.ifaces.begin(), a.ifaces.end());
    std::sort(a.vp.services.begin(), a.vp.services.end());
    plan.vips.push_back(std::move(a.vp));
  }
  return plan;
}

}  // namespace ironlb::l2
