#include "bgp/announcements.h"

#include <algorithm>
#include <vector>

namespace ironlb::bgp {
namespace {

// MetalLB: Local announces only from nodes with a ready local endpoint; Cluster announces
// while any endpoint serves anywhere.
bool ShouldAnnounce(const Model& model, const Service& svc, const std::string& node) {
  const bool local = svc.external_traffic_policy == "Local";
  for (const EndpointSlice* s : model.Slices(svc)) {
    for (const Endpoint& e : s->endpoints) {
      if (local ? (e.node_name == node && EndpointReady(e)) : EndpointServing(e)) return true;
    }
  }
  return false;
}

void AddCommunities(const std::vector<BGPCommunity>& from, RouteAttrs& into) {
  for (const BGPCommunity& c : from) {
    if (const auto* std_c = std::get_if<StandardCommunity>(&c)) {
      into.communities.insert(std_c->value());
    } else {
      into.large_communities.insert(std::get<LargeCommunity>(c));
    }
  }
}

}  // namespace

bool IsInternal(const BGPPeer& p) {
  if (p.peer_asn == 0) return p.dynamic_asn == "internal";
  return p.my_asn == p.peer_asn;
}

Announcements ComputeAnnouncements(const Model& model, const std::string& node) {
  const Config& cfg = model.cfg();
  Announcements out;
  const Labels labels = model.NodeLabels(node);
  for (const auto& [name, peer] : cfg.peers)
    if (AnyMatches(peer.node_selectors, labels)) out.by_peer[name];
  // An excluded node keeps its sessions (so it can announce again without a reconnect) but
  // announces nothing.
  if (out.by_peer.empty() || !model.NodeMayAnnounce(node)) return out;

  for (const Service& svc : model.snap().services) {
    if (svc.type != "LoadBalancer") continue;
    const std::vector<IPAddr> ips = model.Ingress(svc);
    if (ips.empty() || !ShouldAnnounce(model, svc, node)) continue;
    for (const IPAddr& ip : ips) {
      const IPAddressPool* pool = model.PoolOf(svc, ip);
      if (!pool) continue;
      for (const auto& [adv_name, adv] : cfg.bgp_advertisements) {
        if (!SelectsPool(adv.ip_address_pools, adv.ip_address_pool_selectors, *pool) ||
            !AnyMatches(adv.node_selectors, labels))
          continue;
        if (!AnyMatches(adv.service_selectors, svc.meta.labels)) continue;
        const int len = ip.is_v4() ? adv.aggregation_length : adv.aggregation_length_v6;
        const auto contained = IPPrefix::Containing(ip, len);
        if (!contained) continue;
        const IPPrefix& prefix = *contained;
        RouteAttrs attrs;
        AddCommunities(adv.resolved_communities, attrs);
        for (auto& [peer_name, routes] : out.by_peer) {
          if (!adv.peers.empty() &&
              std::find(adv.peers.begin(), adv.peers.end(), peer_name) == adv.peers.end())
            continue;
          RouteAttrs& r = routes[prefix];
          r.communities.insert(attrs.communities.begin(), attrs.communities.end());
          r.large_communities.insert(attrs.large_communities.begin(),
                                     attrs.large_communities.end());
          if (IsInternal(cfg.peers.at(peer_name)) && adv.local_pref != 0)
            r.local_pref = std::max(r.local_pref, adv.local_pref);
        }
      }
    }
  }
  return out;
}

}  // namespace ironlb::bgp
