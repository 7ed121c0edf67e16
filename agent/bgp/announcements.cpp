#include "bgp/announcements.h"

#include <algorithm>
#include <charconv>
#include <vector>

namespace ironlb::bgp {
namespace {

constexpr std::string_view kLargePrefix = "large:";

bool ParseU32(std::string_view s, uint32_t& out) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

std::vector<std::string_view> Split(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t at = 0;
  while (true) {
    size_t c = s.find(':', at);
    parts.push_back(s.substr(at, c == std::string_view::npos ? std::string_view::npos : c - at));
    if (c == std::string_view::npos) break;
    at = c + 1;
  }
  return parts;
}

const Node* FindNode(const Snapshot& snap, const std::string& name) {
  for (const Node& n : snap.nodes)
    if (n.meta.name == name) return &n;
  return nullptr;
}

bool EndpointReady(const Endpoint& e) {
  return e.conditions.ready.value_or(true);
}
bool EndpointServing(const Endpoint& e) {
  return e.conditions.serving.value_or(EndpointReady(e));
}

// MetalLB: Local announces only from nodes with a ready local endpoint; Cluster announces
// while any endpoint serves anywhere.
bool ShouldAnnounce(const Service& svc, const Snapshot& snap, const std::string& node) {
  const bool local = svc.external_traffic_policy == "Local";
  for (const EndpointSlice& s : snap.endpoint_slices) {
    if (s.meta.ns != svc.meta.ns || s.service_name() != svc.meta.name) continue;
    for (const Endpoint& e : s.endpoints) {
      if (local ? (e.node_name == node && EndpointReady(e)) : EndpointServing(e)) return true;
    }
  }
  return false;
}

const IPAddressPool* PoolFor(const Config& cfg, const Service& svc, const IPAddr& ip) {
  if (auto name = MetalLBAnnotation(svc.meta, "ip-allocated-from-pool")) {
    auto it = cfg.pools.find(*name);
    if (it != cfg.pools.end()) return &it->second;
  }
  for (const auto& [name, pool] : cfg.pools)
    for (const IPRange& r : pool.ranges)
      if (r.contains(ip)) return &pool;
  return nullptr;
}

bool SelectsPool(const BGPAdvertisement& adv, const IPAddressPool& pool) {
  if (adv.ip_address_pools.empty() && adv.ip_address_pool_selectors.empty()) return true;
  if (std::find(adv.ip_address_pools.begin(), adv.ip_address_pools.end(), pool.meta.name) !=
      adv.ip_address_pools.end())
    return true;
  for (const LabelSelector& s : adv.ip_address_pool_selectors)
    if (s.Matches(pool.meta.labels)) return true;
  return false;
}

}  // namespace

bool ParseCommunity(const std::string& s, RouteAttrs& into) {
  std::string_view v = s;
  if (v.substr(0, kLargePrefix.size()) == kLargePrefix) {
    auto p = Split(v.substr(kLargePrefix.size()));
    LargeCommunity c;
    if (p.size() != 3 || !ParseU32(p[0], c.global_admin) || !ParseU32(p[1], c.local1) ||
        !ParseU32(p[2], c.local2))
      return false;
    into.large_communities.insert(c);
    return true;
  }
  auto p = Split(v);
  uint32_t hi = 0, lo = 0;
  if (p.size() != 2 || !ParseU32(p[0], hi) || !ParseU32(p[1], lo) || hi > 0xffff || lo > 0xffff)
    return false;
  into.communities.insert(hi << 16 | lo);
  return true;
}

bool IsInternal(const BGPPeer& p) {
  if (p.peer_asn == 0) return p.dynamic_asn == "internal";
  return p.my_asn == p.peer_asn;
}

Announcements ComputeAnnouncements(const Config& cfg, const Snapshot& snap,
                                   const std::string& node) {
  Announcements out;
  const Node* n = FindNode(snap, node);
  const Labels no_labels;
  const Labels& labels = n ? n->meta.labels : no_labels;
  for (const auto& [name, peer] : cfg.peers)
    if (AnyMatches(peer.node_selectors, labels)) out.by_peer[name];
  if (out.by_peer.empty()) return out;

  for (const Service& svc : snap.services) {
    if (svc.type != "LoadBalancer" || svc.ingress.empty()) continue;
    if (!ShouldAnnounce(svc, snap, node)) continue;
    for (const LoadBalancerIngress& ing : svc.ingress) {
      auto ip = IPAddr::Parse(ing.ip);
      if (!ip) continue;
      const IPAddressPool* pool = PoolFor(cfg, svc, *ip);
      if (!pool) continue;
      for (const auto& [adv_name, adv] : cfg.bgp_advertisements) {
        if (!SelectsPool(adv, *pool) || !AnyMatches(adv.node_selectors, labels)) continue;
        if (!AnyMatches(adv.service_selectors, svc.meta.labels)) continue;
        const int len = ip->is_v4() ? adv.aggregation_length : adv.aggregation_length_v6;
        auto prefix = IPPrefix::Parse(ip->str() + "/" + std::to_string(len));
        if (!prefix) continue;
        RouteAttrs attrs;
        for (const std::string& c : adv.communities) {
          auto alias = cfg.community_aliases.find(c);
          ParseCommunity(alias == cfg.community_aliases.end() ? c : alias->second, attrs);
        }
        for (auto& [peer_name, routes] : out.by_peer) {
          if (!adv.peers.empty() &&
              std::find(adv.peers.begin(), adv.peers.end(), peer_name) == adv.peers.end())
            continue;
          RouteAttrs& r = routes[*prefix];
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
