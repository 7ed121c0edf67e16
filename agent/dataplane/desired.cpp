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
  out.reserve(by_addr.size());  // kept in the cache between passes: no growth slack
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

namespace {

// FNV-1a over the fields' values, then a final mix (murmur's fmix64) so nearby inputs spread.
struct Hasher {
  uint64_t h = 1469598103934665603ull;
  void Bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  }
  template <typename T>
  void Pod(const T& v) {
    Bytes(&v, sizeof(v));
  }
  void Addr(const IPAddr& a) {
    Pod(static_cast<uint8_t>(a.family()));
    const auto b = a.bytes();
    Bytes(b.data(), a.is_v4() ? 4 : 16);
  }
  void Str(const std::string& s) {
    Pod(s.size());
    Bytes(s.data(), s.size());
  }
  uint64_t Final() const {
    uint64_t x = h;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
  }
};

}  // namespace

uint64_t Fingerprint(const DesiredService& s) {
  Hasher h;
  h.Str(s.service.kind);
  h.Str(s.service.ns);
  h.Str(s.service.name);
  h.Str(s.name);
  h.Addr(s.vip);
  h.Pod(s.port);
  h.Pod(static_cast<uint8_t>(s.proto));
  h.Pod(s.backends.size());
  for (const auto& b : s.backends) {
    h.Addr(b.addr);
    h.Pod(b.port);
    h.Pod(static_cast<uint8_t>(b.draining));
    h.Pod(b.weight);
    h.Pod(static_cast<uint8_t>(b.tunnel.has_value()));
    if (b.tunnel) h.Addr(*b.tunnel);
  }
  const uint64_t v = h.Final();
  return v == 0 ? 1 : v;
}

maglev::Table DesiredService::BuildTable() const {
  std::vector<std::string> ids;
  ids.reserve(backends.size());
  for (const auto& b : backends) ids.push_back(b.id(proto));
  return BuildTable(ids);
}

maglev::Table DesiredService::BuildTable(const std::vector<std::string>& ids) const {
  std::vector<maglev::Backend> ready;
  for (size_t i = 0; i < backends.size(); ++i)
    if (!backends[i].draining) ready.push_back({ids.at(i), backends[i].weight});
  if (ready.empty()) return {};
  const uint32_t size = maglev::TableSizeFor(ready.size());
  return maglev::Build(std::move(ready), size);
}

namespace {

// The DesiredServices of one LoadBalancer Service, appended to `out`, revisions set.
void ServiceDesired(const Model& model, const Service& svc, const std::string& node,
                    std::vector<DesiredService>* out) {
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
      s.revision = Fingerprint(s);
      out->push_back(std::move(s));
    }
  }
}

// Two Services sharing one VIP:port/proto (a misconfiguration the allocator refuses) must
// not both program it: the first by Service name wins, deterministically on every node.
void SortAndDedupe(DesiredDataplane* d) {
  auto rank = [](const DesiredService& x) { return std::tie(x.vip, x.port, x.proto, x.name); };
  std::sort(d->services.begin(), d->services.end(),
            [&](const DesiredService& a, const DesiredService& b) { return rank(a) < rank(b); });
  d->services.erase(std::unique(d->services.begin(), d->services.end(),
                                [](const DesiredService& a, const DesiredService& b) {
                                  return a.vip == b.vip && a.port == b.port && a.proto == b.proto;
                                }),
                    d->services.end());
}

// Word-at-a-time hashing of a Service's inputs (std::hash of each string, folded through
// murmur's fmix64, a bijection, so distinct sequences collide only as 64-bit hashes do).
struct InputHash {
  uint64_t h = 0x243f6a8885a308d3ull;
  void Word(uint64_t x) {
    h ^= x + 0x9e3779b97f4a7c15ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
  }
  void Str(const std::string& s) { Word(std::hash<std::string_view>{}(s) ^ (s.size() << 56)); }
  void Opt(const std::optional<bool>& b) { Word(b ? (*b ? 2 : 1) : 0); }
  void Addr(const IPAddr& a) {
    Word(static_cast<uint64_t>(a.family()));
    Word(static_cast<uint64_t>(a.value()));
    Word(static_cast<uint64_t>(a.value() >> 64));
  }
};

uint64_t ServiceInputs(const Model& model, const Service& svc) {
  InputHash h;
  h.Str(svc.meta.ns);
  h.Str(svc.meta.name);
  h.Str(svc.external_traffic_policy);
  h.Word(svc.ports.size());
  for (const auto& sp : svc.ports) {
    h.Str(sp.name);
    h.Str(sp.protocol);
    h.Word(sp.port);
  }
  const auto ingress = model.Ingress(svc);
  h.Word(ingress.size());
  for (const IPAddr& a : ingress) h.Addr(a);
  const auto& slices = model.Slices(svc);
  h.Word(slices.size());
  for (const EndpointSlice* s : slices) {
    h.Str(s->address_type);
    h.Word(s->ports.size());
    for (const auto& p : s->ports) {
      h.Str(p.name);
      h.Str(p.protocol);
      h.Word(p.port);
    }
    h.Word(s->endpoints.size());
    for (const auto& ep : s->endpoints) {
      h.Word(ep.addresses.size());
      for (const auto& a : ep.addresses) h.Str(a);
      h.Opt(ep.conditions.ready);
      h.Opt(ep.conditions.serving);
      h.Opt(ep.conditions.terminating);
      h.Str(ep.node_name);
    }
  }
  return h.h;
}

}  // namespace

DesiredDataplane ComputeDesired(const Model& model, const std::string& node) {
  DesiredDataplane d;
  d.node_v4 = NodeAddressFor(model, node, Family::kV4);
  d.node_v6 = NodeAddressFor(model, node, Family::kV6);
  for (const auto& svc : model.snap().services)
    if (svc.type == "LoadBalancer") ServiceDesired(model, svc, node, &d.services);
  SortAndDedupe(&d);
  return d;
}

DesiredDataplane DesiredCache::Compute(const Model& model, const std::string& node) {
  InputHash context;
  context.Str(node);
  for (const Node& n : model.snap().nodes) {
    context.Str(n.meta.name);
    context.Word(n.addresses.size());
    for (const auto& a : n.addresses) {
      context.Str(a.type);
      context.Str(a.address);
    }
  }
  if (context.h != context_) {
    services_.clear();
    context_ = context.h;
  }
  ++pass_;
  recomputed_ = 0;
  DesiredDataplane d;
  d.node_v4 = NodeAddressFor(model, node, Family::kV4);
  d.node_v6 = NodeAddressFor(model, node, Family::kV6);
  for (const auto& svc : model.snap().services) {
    if (svc.type != "LoadBalancer") continue;
    const uint64_t inputs = ServiceInputs(model, svc);
    auto [it, inserted] = services_.try_emplace(svc.key());
    Entry& e = it->second;
    if (e.pass == pass_) {
      // The same ns/name twice in the store (two files): computed as ComputeDesired would,
      // not cached.
      ServiceDesired(model, svc, node, &d.services);
      ++recomputed_;
      continue;
    }
    e.pass = pass_;
    if (inserted || e.inputs != inputs) {
      e.out.clear();
      ServiceDesired(model, svc, node, &e.out);
      e.inputs = inputs;
      ++recomputed_;
    }
    d.services.insert(d.services.end(), e.out.begin(), e.out.end());
  }
  for (auto it = services_.begin(); it != services_.end();)
    it = it->second.pass == pass_ ? std::next(it) : services_.erase(it);
  SortAndDedupe(&d);
  return d;
}

}  // namespace ironlb::dataplane
