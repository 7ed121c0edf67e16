#include "dataplane/desired.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace ironlb::dataplane {
namespace {

// Kubernetes' well-known label every Node carries; used when this node has no Node object.
constexpr const char* kHostnameLabel = "kubernetes.io/hostname";

std::optional<Proto> ParseProto(const std::string& p) {
  if (p == "TCP" || p.empty()) return Proto::kTCP;
  if (p == "UDP") return Proto::kUDP;
  return std::nullopt;  // SCTP: not handled by the XDP program
}

std::string HostPort(const IPAddr& a, uint16_t port) {
  return (a.is_v6() ? "[" + a.str() + "]" : a.str()) + ":" + std::to_string(port);
}

// EndpointSlice ports are named after the Service port they serve (empty for a lone port).
std::optional<uint16_t> SlicePort(const EndpointSlice& s, const ServicePort& sp) {
  for (const auto& p : s.ports)
    if (p.name == sp.name && p.protocol == sp.protocol && p.port != 0) return p.port;
  return std::nullopt;
}

// externalTrafficPolicy Local: a node serves only its own endpoints (the client address stays
// visible to them without a second hop), and announces the VIP only while it has one.
std::vector<DesiredBackend> Backends(const Snapshot& snap, const Service& svc,
                                     const ServicePort& sp, Family family,
                                     const std::string& node) {
  const bool local_only = svc.external_traffic_policy == "Local";
  std::map<std::pair<IPAddr, uint16_t>, DesiredBackend> by_addr;
  for (const auto& slice : snap.endpoint_slices) {
    if (slice.meta.ns != svc.meta.ns || slice.service_name() != svc.meta.name) continue;
    if (slice.address_type != FamilyName(family)) continue;
    auto port = SlicePort(slice, sp);
    if (!port) continue;
    for (const auto& ep : slice.endpoints) {
      if (local_only && ep.node_name != node) continue;
      const bool terminating = ep.conditions.terminating.value_or(false);
      const bool ready = ep.conditions.ready.value_or(true) && !terminating;
      if (!ready && !terminating) continue;  // not ready, not draining: no traffic at all
      for (const auto& a : ep.addresses) {
        auto addr = IPAddr::Parse(a);
        if (!addr || addr->family() != family) continue;
        DesiredBackend b{*addr, *port, !ready, 1};
        auto [it, inserted] = by_addr.emplace(std::pair{*addr, *port}, b);
        // The same endpoint in two slices (a slice move): ready wins over draining.
        if (!inserted && ready) it->second.draining = false;
      }
    }
  }
  std::vector<DesiredBackend> out;
  for (auto& [k, b] : by_addr) out.push_back(b);
  return out;
}

Labels NodeLabels(const Snapshot& snap, const std::string& node) {
  for (const auto& n : snap.nodes)
    if (n.meta.name == node) return n.meta.labels;
  return {{kHostnameLabel, node}};
}

bool AdSelectsPool(const L2Advertisement& ad, const IPAddressPool& pool) {
  if (ad.ip_address_pools.empty() && ad.ip_address_pool_selectors.empty()) return true;
  if (std::find(ad.ip_address_pools.begin(), ad.ip_address_pools.end(), pool.meta.name) !=
      ad.ip_address_pools.end())
    return true;
  for (const auto& sel : ad.ip_address_pool_selectors)
    if (sel.Matches(pool.meta.labels)) return true;
  return false;
}

// The L2 decision for one VIP, or nullopt when no L2Advertisement covers it.
std::optional<DesiredL2> L2For(const IPAddr& vip, const Snapshot& snap, const Config& cfg,
                               const std::string& node) {
  std::set<std::string> eligible;
  std::vector<std::string> interfaces;
  bool announced = false, interfaces_all = false;
  std::vector<std::string> node_names;
  for (const auto& n : snap.nodes) node_names.push_back(n.meta.name);
  if (std::find(node_names.begin(), node_names.end(), node) == node_names.end())
    node_names.push_back(node);
  for (const auto& [pname, pool] : cfg.pools) {
    if (std::none_of(pool.ranges.begin(), pool.ranges.end(),
                     [&](const IPRange& r) { return r.contains(vip); }))
      continue;
    for (const auto& [aname, ad] : cfg.l2_advertisements) {
      if (!AdSelectsPool(ad, pool)) continue;
      announced = true;
      bool selects_me = false;
      for (const auto& n : node_names)
        if (AnyMatches(ad.node_selectors, NodeLabels(snap, n))) {
          eligible.insert(n);
          selects_me = selects_me || n == node;
        }
      if (!selects_me) continue;
      if (ad.interfaces.empty()) interfaces_all = true;
      interfaces.insert(interfaces.end(), ad.interfaces.begin(), ad.interfaces.end());
    }
  }
  if (!announced) return std::nullopt;
  DesiredL2 l2{vip, eligible.size() == 1 && eligible.count(node) == 1, {}};
  if (l2.owned && !interfaces_all) {
    std::sort(interfaces.begin(), interfaces.end());
    interfaces.erase(std::unique(interfaces.begin(), interfaces.end()), interfaces.end());
    l2.interfaces = interfaces;
  }
  return l2;
}

}  // namespace

const char* ProtoName(Proto p) {
  return p == Proto::kTCP ? "TCP" : "UDP";
}

std::string VipKey(const IPAddr& vip, uint16_t port, Proto proto) {
  return HostPort(vip, port) + "/" + ProtoName(proto);
}

std::string DesiredBackend::id(Proto proto) const {
  return HostPort(addr, port) + "/" + ProtoName(proto);
}

std::string DesiredService::key() const {
  return VipKey(vip, port, proto);
}

DesiredDataplane ComputeDesired(const Snapshot& snap, const Config& cfg, const std::string& node) {
  DesiredDataplane d;
  std::set<IPAddr> vips;
  for (const auto& svc : snap.services) {
    if (svc.type != "LoadBalancer") continue;
    for (const auto& ing : svc.ingress) {
      auto vip = IPAddr::Parse(ing.ip);
      if (!vip) continue;
      vips.insert(*vip);
      for (const auto& sp : svc.ports) {
        auto proto = ParseProto(sp.protocol);
        if (!proto || sp.port == 0) continue;
        DesiredService s;
        s.name = svc.key() + (sp.name.empty() ? "" : ":" + sp.name);
        s.vip = *vip;
        s.port = sp.port;
        s.proto = *proto;
        s.backends = Backends(snap, svc, sp, vip->family(), node);
        std::vector<maglev::Backend> ready;
        for (const auto& b : s.backends)
          if (!b.draining) ready.push_back({b.id(*proto), b.weight});
        if (!ready.empty()) s.table = maglev::Build(ready, maglev::TableSizeFor(ready.size()));
        d.services.push_back(std::move(s));
      }
    }
  }
  std::sort(d.services.begin(), d.services.end(),
            [](const DesiredService& a, const DesiredService& b) { return a.key() < b.key(); });
  // Two Services sharing one VIP:port/proto (a misconfiguration the allocator refuses) must
  // not both program it: the first in key order wins, deterministically on every node.
  d.services.erase(std::unique(d.services.begin(), d.services.end(),
                               [](const DesiredService& a, const DesiredService& b) {
                                 return a.key() == b.key();
                               }),
                   d.services.end());
  for (const auto& vip : vips)
    if (auto l2 = L2For(vip, snap, cfg, node)) d.l2.push_back(*l2);
  return d;
}

}  // namespace ironlb::dataplane
