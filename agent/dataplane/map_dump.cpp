#include "dataplane/map_dump.h"

#include <endian.h>
#include <time.h>

#include <cstdio>
#include <map>
#include <stdexcept>
#include <vector>

#include "dataplane/desired.h"
#include "dataplane/flow.h"
#include "dataplane/map_layout.h"
#include "dataplane/reasons.h"
#include "model/ip.h"
#include "model/model.h"
#include "runtime/monotonic.h"

namespace ironlb::dataplane {
namespace {

IPAddr AddrOf(const __be32 a[4], uint8_t family) {
  return IPAddr::FromBytes(family == LB_FAMILY_V6 ? Family::kV6 : Family::kV4,
                           reinterpret_cast<const uint8_t*>(a));
}

std::string ProtoStr(uint8_t p) {
  return p == static_cast<uint8_t>(Proto::kTCP)   ? "TCP"
         : p == static_cast<uint8_t>(Proto::kUDP) ? "UDP"
                                                  : std::to_string(p);
}

std::string HostPort(const IPAddr& a, uint16_t port) {
  return (a.is_v6() ? "[" + a.str() + "]" : a.str()) + ":" + std::to_string(port);
}

template <typename K, typename V, typename F>
void ForEach(const MapOps& ops, MapId map, F&& f) {
  ops.ForEach(map, [&](const Bytes& k, const Bytes& v) { f(FromBytes<K>(k), FromBytes<V>(v)); });
}

template <typename V, typename K>
std::optional<V> Get(const MapOps& ops, MapId map, const K& key) {
  auto v = ops.Lookup(map, ToBytes(key));
  if (!v) return std::nullopt;
  return FromBytes<V>(*v);
}

nlohmann::json Counter(const lb_counter& c) {
  return {{"packets", c.packets}, {"bytes", c.bytes}};
}

// The backends in use. The array has LB_MAX_BACKENDS slots whatever is in use, and the agent's
// metrics read it every few seconds: MapOps reads it in batches.
std::map<uint32_t, lb_backend> Backends(const MapOps& ops) {
  std::map<uint32_t, lb_backend> out;
  ForEach<uint32_t, lb_backend>(ops, MapId::kBackends, [&](uint32_t id, const lb_backend& b) {
    if (id != 0 && b.action != LB_ACTION_NONE) out[id] = b;
  });
  return out;
}

std::string BackendStr(const lb_backend& b) {
  return HostPort(AddrOf(b.addr, b.family), be16toh(b.port));
}

}  // namespace

nlohmann::json DumpServices(const MapOps& ops) {
  nlohmann::json out = nlohmann::json::array();
  ForEach<lb_vip_key, lb_service>(
      ops, MapId::kServices, [&](const lb_vip_key& k, const lb_service& s) {
        const IPAddr vip = AddrOf(k.addr, k.family);
        out.push_back({{"service", HostPort(vip, be16toh(k.port)) + "/" + ProtoStr(k.proto)},
                       {"vip", vip.str()},
                       {"port", be16toh(k.port)},
                       {"protocol", ProtoStr(k.proto)},
                       {"id", s.id},
                       {"backends", s.backend_count},
                       {"maglev_base", s.maglev_base},
                       {"maglev_size", s.maglev_size},
                       {"stats", Counter(SumCounters(ops, MapId::kVipStats, s.id))}});
      });
  return out;
}

nlohmann::json DumpBackends(const MapOps& ops) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [id, b] : Backends(ops)) {
    const char* action = b.action == LB_ACTION_LOCAL   ? "local"
                         : b.action == LB_ACTION_ENCAP ? "encap"
                                                       : "unknown";
    nlohmann::json j = {{"id", id},
                        {"backend", BackendStr(b)},
                        {"action", action},
                        {"draining", (b.flags & LB_BACKEND_F_DRAINING) != 0},
                        {"stats", Counter(SumCounters(ops, MapId::kBackendStats, id))}};
    // The endpoint's node, which its flows are encapsulated to.
    if (b.action == LB_ACTION_ENCAP) j["node"] = AddrOf(b.tunnel, b.family).str();
    out.push_back(std::move(j));
  }
  return out;
}

lb_vip_key ParseServiceKey(const std::string& service) {
  const auto slash = service.rfind('/');
  const auto colon = service.rfind(':', slash);
  if (slash == std::string::npos || colon == std::string::npos)
    throw std::invalid_argument("expected VIP:PORT/PROTO, got " + service);
  std::string host = service.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const auto vip = IPAddr::Parse(host);
  const std::string proto = service.substr(slash + 1);
  int port = -1;
  try {
    port = std::stoi(service.substr(colon + 1, slash - colon - 1));
  } catch (const std::exception&) {
  }
  if (!vip || port < 0 || port > 65535 || (proto != "TCP" && proto != "UDP"))
    throw std::invalid_argument("expected VIP:PORT/PROTO (PROTO TCP or UDP), got " + service);
  lb_vip_key k{};
  auto bytes = vip->bytes();
  std::memcpy(k.addr, bytes.data(), vip->is_v4() ? 4 : 16);
  k.port = htobe16(static_cast<uint16_t>(port));
  k.proto = static_cast<uint8_t>(proto == "TCP" ? Proto::kTCP : Proto::kUDP);
  k.family = vip->is_v4() ? LB_FAMILY_V4 : LB_FAMILY_V6;
  return k;
}

nlohmann::json DumpMaglev(const MapOps& ops, const std::string& service) {
  const auto s = Get<lb_service>(ops, MapId::kServices, ParseServiceKey(service));
  if (!s) throw std::runtime_error("no service " + service + " in the data plane");
  const auto backends = Backends(ops);
  std::map<uint32_t, uint32_t> count;
  nlohmann::json entries = nlohmann::json::array();
  for (uint32_t id : ops.LookupRange(MapId::kMaglev, s->maglev_base, s->maglev_size)) {
    entries.push_back(id);
    ++count[id];
  }
  nlohmann::json dist = nlohmann::json::array();
  for (const auto& [id, n] : count) {
    auto it = backends.find(id);
    dist.push_back({{"id", id},
                    {"backend", it == backends.end() ? "?" : BackendStr(it->second)},
                    {"entries", n},
                    {"share", s->maglev_size ? double(n) / s->maglev_size : 0.0}});
  }
  return {{"service", service},
          {"size", s->maglev_size},
          {"base", s->maglev_base},
          {"backends", dist},
          {"entries", entries}};
}

nlohmann::json DumpConntrack(const MapOps& ops, size_t limit) {
  nlohmann::json out = nlohmann::json::array();
  const auto backends = Backends(ops);
  const uint64_t now_ns = MonotonicNs();
  ForEach<lb_ct_key, lb_ct_value>(
      ops, MapId::kConntrack, [&](const lb_ct_key& k, const lb_ct_value& v) {
        if (out.size() >= limit) return;
        auto it = backends.find(v.backend_id);
        out.push_back({{"client", HostPort(AddrOf(k.src, k.family), be16toh(k.sport))},
                       {"vip", HostPort(AddrOf(k.dst, k.family), be16toh(k.dport))},
                       {"protocol", ProtoStr(k.proto)},
                       {"backend_id", v.backend_id},
                       {"backend", it == backends.end() ? "(gone)" : BackendStr(it->second)},
                       {"age_s", (now_ns - v.created_ns) / 1000000000ull},
                       {"idle_s", (now_ns - v.last_seen_ns) / 1000000000ull}});
      });
  return out;
}

nlohmann::json DumpStats(const MapOps& ops) {
  nlohmann::json reasons = nlohmann::json::object();
  for (uint32_t r = 0; r < LB_R_MAX; ++r)
    reasons[ReasonName(r)] = Counter(SumCounters(ops, MapId::kReasonStats, r));
  nlohmann::json vips = nlohmann::json::array();
  for (const auto& s : DumpServices(ops))
    vips.push_back({{"service", s["service"]}, {"stats", s["stats"]}});
  nlohmann::json backends = nlohmann::json::array();
  for (const auto& b : DumpBackends(ops))
    backends.push_back({{"backend", b["backend"]}, {"stats", b["stats"]}});
  return {{"reasons", reasons}, {"vips", vips}, {"backends", backends}};
}

nlohmann::json DumpIfaces(const MapOps& ops) {
  nlohmann::json out = nlohmann::json::array();
  ForEach<uint32_t, lb_iface>(ops, MapId::kIfaces, [&](uint32_t ifindex, const lb_iface& v) {
    char mac[18];
    std::snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", v.mac[0], v.mac[1], v.mac[2],
                  v.mac[3], v.mac[4], v.mac[5]);
    out.push_back(
        {{"ifindex", ifindex}, {"mac", mac}, {"ingress_vouched_until_ns", v.tc_ingress_until_ns}});
  });
  return out;
}

Occupancy ConntrackOccupancy(const MapOps& ops) {
  return {ops.Count(MapId::kConntrack), ops.Capacity(MapId::kConntrack)};
}

nlohmann::json ExplainFlow(const MapOps& ops, const std::string& service,
                           const std::string& client) {
  const lb_vip_key vk = ParseServiceKey(service);
  const auto hp = ParseHostPort(client);
  const auto src = hp ? IPAddr::Parse(hp->host) : std::nullopt;
  if (!src)
    throw std::invalid_argument("expected the client as ADDR:PORT ([v6]:PORT), got " + client);
  if (src->is_v4() != (vk.family == LB_FAMILY_V4))
    throw std::invalid_argument("client " + client + " and " + service + " differ in family");
  const auto found = Get<lb_service>(ops, MapId::kServices, vk);
  if (!found) throw std::runtime_error("no service " + service + " in the data plane");
  const lb_service& s = *found;
  // The conntrack key exactly as the XDP program builds it from the packet.
  lb_ct_key key{};
  const auto sb = src->bytes();
  std::memcpy(key.src, sb.data(), src->is_v4() ? 4 : 16);
  std::memcpy(key.dst, vk.addr, sizeof(key.dst));
  key.sport = htobe16(hp->port);
  key.dport = vk.port;
  key.proto = vk.proto;
  key.family = vk.family;
  const auto backends = Backends(ops);
  auto backend_json = [&](uint32_t id) -> nlohmann::json {
    auto it = backends.find(id);
    if (it == backends.end()) return nullptr;
    return {{"id", id}, {"address", BackendStr(it->second)}};
  };
  nlohmann::json out = {{"service", service},
                        {"client", client},
                        {"service_id", s.id},
                        {"backends", s.backend_count}};
  // select_backend() in bpf/select.h, step by step: a live conntrack entry whose backend still
  // exists wins; otherwise the Maglev slot the flow hash picks.
  out["conntrack"] = nullptr;
  if (const auto found_ct = Get<lb_ct_value>(ops, MapId::kConntrack, key)) {
    const lb_ct_value& ct = *found_ct;
    const uint64_t now_ns = MonotonicNs();
    out["conntrack"] = {{"backend_id", ct.backend_id},
                        {"age_s", (now_ns - ct.created_ns) / 1000000000ull},
                        {"idle_s", (now_ns - ct.last_seen_ns) / 1000000000ull}};
    if (backends.count(ct.backend_id)) {
      out["decision"] = "conntrack";
      out["backend"] = backend_json(ct.backend_id);
      out["why"] = "a live conntrack entry keeps this flow on the endpoint it started on";
    }
  }
  const uint32_t hash = FlowHash(key);
  nlohmann::json maglev = {{"hash", hash}, {"table_size", s.maglev_size}, {"base", s.maglev_base}};
  if (s.backend_count == 0 || s.maglev_size == 0) {
    if (!out.contains("decision")) {
      out["decision"] = "drop";
      out["backend"] = nullptr;
      out["why"] = "the service has no endpoint (drop_no_backend)";
    }
  } else {
    const uint32_t index = hash % s.maglev_size, slot = s.maglev_base + index;
    const uint32_t id = ops.LookupRange(MapId::kMaglev, slot, 1).front();
    maglev["index"] = index;
    maglev["slot"] = slot;
    maglev["backend"] = backend_json(id);
    if (!out.contains("decision")) {
      out["decision"] = backends.count(id) ? "maglev" : "drop";
      out["backend"] = backend_json(id);
      out["why"] = backends.count(id)
                       ? "no live conntrack entry: entry " + std::to_string(index) + " of " +
                             std::to_string(s.maglev_size) + " in the service's Maglev table"
                       : "the Maglev entry names no endpoint (drop_bad_backend)";
    }
  }
  out["maglev"] = maglev;
  return out;
}

}  // namespace ironlb::dataplane
