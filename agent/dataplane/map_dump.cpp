#include "dataplane/map_dump.h"

#include <bpf/bpf.h>
#include <endian.h>
#include <time.h>

#include <cerrno>
#include <map>
#include <stdexcept>
#include <vector>

#include "dataplane/desired.h"
#include "dataplane/flow.h"
#include "dataplane/map_layout.h"
#include "dataplane/reasons.h"
#include "model/ip.h"
#include "model/model.h"

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
void ForEach(int fd, F&& f) {
  K key{}, next{};
  const K* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    V v{};
    if (bpf_map_lookup_elem(fd, &next, &v) == 0) f(next, v);
    key = next;
    prev = &key;
  }
}

nlohmann::json Counter(const lb_counter& c) {
  return {{"packets", c.packets}, {"bytes", c.bytes}};
}

// The backends array is read in batches (a few syscalls instead of one per slot): the agent's
// metrics read it every few seconds, and it has LB_MAX_BACKENDS slots whatever is in use.
std::map<uint32_t, lb_backend> Backends(const PinnedMaps& maps) {
  constexpr uint32_t kChunk = 4096;
  std::map<uint32_t, lb_backend> out;
  const int fd = maps.fd(LB_MAP_BACKENDS);
  std::vector<uint32_t> keys(kChunk);
  std::vector<lb_backend> values(kChunk);
  uint32_t out_batch = 0;
  bool first = true;
  for (;;) {
    uint32_t count = kChunk;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    const int err = bpf_map_lookup_batch(fd, first ? nullptr : &out_batch, &out_batch, keys.data(),
                                         values.data(), &count, &opts);
    if (err != 0 && errno != ENOENT) break;  // no batch ops here: one lookup per slot below
    for (uint32_t i = 0; i < count; ++i)
      if (keys[i] != 0 && values[i].action != LB_ACTION_NONE) out[keys[i]] = values[i];
    first = false;
    if (err != 0) return out;  // ENOENT: the walk reached the end
  }
  out.clear();
  for (uint32_t id = 1; id < LB_MAX_BACKENDS; ++id) {
    lb_backend b{};
    if (bpf_map_lookup_elem(fd, &id, &b) == 0 && b.action != LB_ACTION_NONE) out[id] = b;
  }
  return out;
}

std::string BackendStr(const lb_backend& b) {
  return HostPort(AddrOf(b.addr, b.family), be16toh(b.port));
}

}  // namespace

nlohmann::json DumpServices(const PinnedMaps& maps) {
  nlohmann::json out = nlohmann::json::array();
  const int stats = maps.fd(LB_MAP_VIP_STATS);
  ForEach<lb_vip_key, lb_service>(
      maps.fd(LB_MAP_SERVICES), [&](const lb_vip_key& k, const lb_service& s) {
        const IPAddr vip = AddrOf(k.addr, k.family);
        out.push_back({{"service", HostPort(vip, be16toh(k.port)) + "/" + ProtoStr(k.proto)},
                       {"vip", vip.str()},
                       {"port", be16toh(k.port)},
                       {"protocol", ProtoStr(k.proto)},
                       {"id", s.id},
                       {"backends", s.backend_count},
                       {"maglev_base", s.maglev_base},
                       {"maglev_size", s.maglev_size},
                       {"stats", Counter(SumPerCpu(stats, s.id))}});
      });
  return out;
}

nlohmann::json DumpBackends(const PinnedMaps& maps) {
  nlohmann::json out = nlohmann::json::array();
  const int stats = maps.fd(LB_MAP_BACKEND_STATS);
  for (const auto& [id, b] : Backends(maps)) {
    const char* action = b.action == LB_ACTION_LOCAL   ? "local"
                         : b.action == LB_ACTION_ENCAP ? "encap"
                                                       : "unknown";
    nlohmann::json j = {{"id", id},
                        {"backend", BackendStr(b)},
                        {"action", action},
                        {"draining", (b.flags & LB_BACKEND_F_DRAINING) != 0},
                        {"stats", Counter(SumPerCpu(stats, id))}};
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

nlohmann::json DumpMaglev(const PinnedMaps& maps, const std::string& service) {
  const lb_vip_key k = ParseServiceKey(service);
  lb_service s{};
  if (bpf_map_lookup_elem(maps.fd(LB_MAP_SERVICES), &k, &s) != 0)
    throw std::runtime_error("no service " + service + " in the data plane");
  const auto backends = Backends(maps);
  std::map<uint32_t, uint32_t> count;
  nlohmann::json entries = nlohmann::json::array();
  const int fd = maps.fd(LB_MAP_MAGLEV);
  for (uint32_t i = 0; i < s.maglev_size; ++i) {
    uint32_t slot = s.maglev_base + i, id = 0;
    bpf_map_lookup_elem(fd, &slot, &id);
    entries.push_back(id);
    ++count[id];
  }
  nlohmann::json dist = nlohmann::json::array();
  for (const auto& [id, n] : count) {
    auto it = backends.find(id);
    dist.push_back({{"id", id},
                    {"backend", it == backends.end() ? "?" : BackendStr(it->second)},
                    {"entries", n},
                    {"share", s.maglev_size ? double(n) / s.maglev_size : 0.0}});
  }
  return {{"service", service},
          {"size", s.maglev_size},
          {"base", s.maglev_base},
          {"backends", dist},
          {"entries", entries}};
}

nlohmann::json DumpConntrack(const PinnedMaps& maps, size_t limit) {
  nlohmann::json out = nlohmann::json::array();
  const auto backends = Backends(maps);
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);  // bpf_ktime_get_ns() is CLOCK_MONOTONIC
  const uint64_t now_ns = uint64_t(now.tv_sec) * 1000000000ull + now.tv_nsec;
  ForEach<lb_ct_key, lb_ct_value>(
      maps.fd(LB_MAP_CONNTRACK), [&](const lb_ct_key& k, const lb_ct_value& v) {
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

nlohmann::json DumpStats(const PinnedMaps& maps) {
  nlohmann::json reasons = nlohmann::json::object();
  for (uint32_t r = 0; r < LB_R_MAX; ++r)
    reasons[ReasonName(r)] = Counter(SumPerCpu(maps.fd(LB_MAP_REASON_STATS), r));
  nlohmann::json vips = nlohmann::json::array();
  for (const auto& s : DumpServices(maps))
    vips.push_back({{"service", s["service"]}, {"stats", s["stats"]}});
  nlohmann::json backends = nlohmann::json::array();
  for (const auto& b : DumpBackends(maps))
    backends.push_back({{"backend", b["backend"]}, {"stats", b["stats"]}});
  return {{"reasons", reasons}, {"vips", vips}, {"backends", backends}};
}

Occupancy ConntrackOccupancy(const PinnedMaps& maps) {
  const int fd = maps.fd(LB_MAP_CONNTRACK);
  Occupancy o;
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return o;
  o.capacity = info.max_entries;
  constexpr uint32_t kChunk = 4096;
  std::vector<lb_ct_key> keys(kChunk);
  std::vector<lb_ct_value> values(kChunk);
  lb_ct_key out_batch{};
  bool first = true;
  for (;;) {
    uint32_t count = kChunk;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    const int err = bpf_map_lookup_batch(fd, first ? nullptr : &out_batch, &out_batch, keys.data(),
                                         values.data(), &count, &opts);
    if (err != 0 && errno != ENOENT) break;  // no batch ops: walk the keys below
    o.entries += count;
    first = false;
    if (err != 0) return o;  // ENOENT: the walk reached the end
  }
  o.entries = 0;
  ForEach<lb_ct_key, lb_ct_value>(fd, [&](const lb_ct_key&, const lb_ct_value&) { ++o.entries; });
  return o;
}

nlohmann::json ExplainFlow(const PinnedMaps& maps, const std::string& service,
                           const std::string& client) {
  const lb_vip_key vk = ParseServiceKey(service);
  const auto hp = ParseHostPort(client);
  const auto src = hp ? IPAddr::Parse(hp->host) : std::nullopt;
  if (!src)
    throw std::invalid_argument("expected the client as ADDR:PORT ([v6]:PORT), got " + client);
  if (src->is_v4() != (vk.family == LB_FAMILY_V4))
    throw std::invalid_argument("client " + client + " and " + service + " differ in family");
  lb_service s{};
  if (bpf_map_lookup_elem(maps.fd(LB_MAP_SERVICES), &vk, &s) != 0)
    throw std::runtime_error("no service " + service + " in the data plane");
  // The conntrack key exactly as the XDP program builds it from the packet.
  lb_ct_key key{};
  const auto sb = src->bytes();
  std::memcpy(key.src, sb.data(), src->is_v4() ? 4 : 16);
  std::memcpy(key.dst, vk.addr, sizeof(key.dst));
  key.sport = htobe16(hp->port);
  key.dport = vk.port;
  key.proto = vk.proto;
  key.family = vk.family;
  const auto backends = Backends(maps);
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
  lb_ct_value ct{};
  out["conntrack"] = nullptr;
  if (bpf_map_lookup_elem(maps.fd(LB_MAP_CONNTRACK), &key, &ct) == 0) {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const uint64_t now_ns = uint64_t(now.tv_sec) * 1000000000ull + now.tv_nsec;
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
    uint32_t id = 0;
    bpf_map_lookup_elem(maps.fd(LB_MAP_MAGLEV), &slot, &id);
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
