#include "dataplane/desired.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

namespace ironlb::dataplane {
namespace {

std::optional<Proto> ParseProto(const std::string& p) {
  if (p == "TCP" || p.empty()) return Proto::kTCP;
  if (p == "UDP") return Proto::kUDP;
  return std::nullopt;  // SCTP: not handled by the XDP program
}

// EndpointSlice ports are named after the Service port they serve (empty for a lone port).
std::optional<uint16_t> SlicePort(const EndpointSlice& s, const ServicePort& sp) {
  for (const auto& p : s.ports)
    if (p.name == sp.name && p.protocol == sp.protocol && p.port != 0) return p.port;
  return std::nullopt;
}

// externalTrafficPolicy Local: a node serves only its own endpoints (the client address stays
// visible to them without a second hop), and announces the VIP only while it has one.
std::vector<DesiredBackend> Backends(const Model& model, const Service& svc, const ServicePort& sp,
                                     Family family, const std::string& node) {
  const bool local_only = svc.external_traffic_policy == "Local";
  // Encapsulation needs an outer source: this node's own address of the family.
  const bool can_encap = NodeAddressFor(model, node, family).has_value();
  std::map<std::pair<IPAddr, uint16_t>, DesiredBackend> by_addr;
  for (const EndpointSlice* slice_ptr : model.Slices(svc)) {
    const EndpointSlice& slice = *slice_ptr;
    if (slice.address_type != FamilyName(family)) continue;
    auto port = SlicePort(slice, sp);
    if (!port) continue;
    for (const auto& ep : slice.endpoints) {
      if (local_only && ep.node_name != node) continue;
      const bool terminating = EndpointTerminating(ep);
      const bool ready = EndpointReady(ep) && !terminating;
      if (!ready && !terminating) continue;  // not ready, not draining: no traffic at all
      for (const auto& a : ep.addresses) {
        auto addr = IPAddr::Parse(a);
        if (!addr || addr->family() != family) continue;
        DesiredBackend b{*addr, *port, !ready, 1, std::nullopt};
        if (can_encap && !ep.node_name.empty() && ep.node_name != node)
          b.tunnel = NodeAddressFor(model, ep.node_name, family);
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

}  // namespace

std::optional<IPAddr> NodeAddressFor(const Model& model, const std::string& node, Family family) {
  const Node* n = model.FindNode(node);
  if (!n) return std::nullopt;
  for (const char* type : {"InternalIP", "ExternalIP"})
    for (const auto& a : n->addresses) {
      if (a.type != type) continue;
      auto ip = IPAddr::Parse(a.address);
      if (ip && ip->family() == family) return ip;
    }
  return std::nullopt;
}

const char* ProtoName(Proto p) {
  return p == Proto::kTCP ? "TCP" : "UDP";
}

std::string VipKey(const IPAddr& vip, uint16_t port, Proto proto) {
  return FormatHostPort(vip, port) + "/" + ProtoName(proto);
}

std::string DesiredBackend::id(Proto proto) const {
  return FormatHostPort(addr, port) + "/" + ProtoName(proto);
}

std::string DesiredService::key() const {
  return VipKey(vip, port, proto);
}

maglev::Table DesiredService::BuildTable() const {
  std::vector<maglev::Backend> ready;
  for (const auto& b : backends)
    if (!b.draining) ready.push_back({b.id(proto), b.weight});
  if (ready.empty()) return {};
  const uint32_t size = maglev::TableSizeFor(ready.size());
  return maglev::Build(std::move(ready), size);
}

DesiredDataplane ComputeDesired(const Model& model, const std::string& node) {
  DesiredDataplane d;
  d.node_v4 = NodeAddressFor(model, node, Family::kV4);
  d.node_v6 = NodeAddressFor(model, node, Family::kV6);
  for (const auto& svc : model.snap().services) {
    if (svc.type != "LoadBalancer") continue;
    for (const IPAddr& vip : model.Ingress(svc)) {
      for (const auto& sp : svc.ports) {
        auto proto = ParseProto(sp.protocol);
        if (!proto || sp.port == 0) continue;
        DesiredService s;
        s.service = svc.ref();
        s.name = svc.key() + (sp.name.empty() ? "" : ":" + sp.name);
        s.vip = vip;
        s.port = sp.port;
        s.proto = *proto;
        s.backends = Backends(model, svc, sp, vip.family(), node);
        d.services.push_back(std::move(s));
      }
    }
  }
  // Two Services sharing one VIP:port/proto (a misconfiguration the allocator refuses) must
  // not both program it: the first by Service name wins, deterministically on every node.
  auto rank = [](const DesiredService& x) { return std::tie(x.vip, x.port, x.proto, x.name); };
  std::sort(d.services.begin(), d.services.end(),
            [&](const DesiredService& a, const DesiredService& b) { return rank(a) < rank(b); });
  d.services.erase(std::unique(d.services.begin(), d.services.end(),
                               [](const DesiredService& a, const DesiredService& b) {
                                 return a.vip == b.vip && a.port == b.port && a.proto == b.proto;
                               }),
                   d.services.end());
  return d;
}

}  // namespace ironlb::dataplane
