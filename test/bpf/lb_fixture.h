// Shared fixture of the xdp_lb / tc_lb tests: loads both programs (unpinned maps) inside a
// private network namespace, fills maps through small helpers, and runs crafted frames through
// BPF_PROG_TEST_RUN. Cases are declarative: {description, input, verdict, expected output}.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/bpf_objects.h"
#include "dataplane/map_layout.h"
#include "packet_builder.h"

namespace ironlb::testpkt {

inline const Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
inline const Mac kNodeMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0xaa};
inline const Mac kBroadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
inline const Mac kZeroMac = {0, 0, 0, 0, 0, 0};
inline constexpr uint32_t kLoopbackIfindex = 1;

struct RunResult {
  uint32_t verdict = 0;
  Bytes out;
};

struct Case {
  std::string description;
  Bytes in;
  uint32_t verdict;
  std::optional<Bytes> out;  // nullopt: output not checked (drops); set: exact bytes
};

inline void FillAddr(__be32 dst[4], const IPAddr& a) {
  std::memset(dst, 0, 16);
  Bytes b = AddrBytes(a);
  std::memcpy(dst, b.data(), b.size());
}

inline uint8_t FamilyOf(const IPAddr& a) {
  return a.is_v4() ? LB_FAMILY_V4 : LB_FAMILY_V6;
}

class LbTest : public ::testing::Test {
 protected:
  void SetUp() override { Load({}); }

  void Load(dataplane::LoadOptions opts) {
    objs_.reset();
    objs_ = dataplane::BpfObjects::OpenAndLoad(opts);
  }

  int fd(const char* map) const { return objs_->map_fd(map); }

  void Put(const char* map, const void* key, const void* value) {
    ASSERT_EQ(bpf_map_update_elem(fd(map), key, value, BPF_ANY), 0) << map << ": " << errno;
  }

  void SetIface(uint32_t ifindex, const Mac& mac) { SetIfaceVouch(ifindex, mac, 0); }

  // `until_ns`: the agent's vouch for tc_lb_ingress on the interface (lb_iface).
  void SetIfaceVouch(uint32_t ifindex, const Mac& mac, uint64_t until_ns) {
    lb_iface v{};
    std::memcpy(v.mac, mac.data(), 6);
    v.tc_ingress_until_ns = until_ns;
    Put(LB_MAP_IFACES, &ifindex, &v);
  }

  void SetL2(const IPAddr& vip, uint32_t ifindex, uint32_t state) {
    lb_l2_key k{};
    FillAddr(k.addr, vip);
    k.ifindex = ifindex;
    k.family = FamilyOf(vip);
    lb_l2_value v{state};
    Put(LB_MAP_L2, &k, &v);
  }

  void SetBackend(uint32_t id, const IPAddr& addr, uint16_t port, uint32_t flags = 0) {
    lb_backend b{};
    FillAddr(b.addr, addr);
    b.port = htons(port);
    b.family = FamilyOf(addr);
    b.action = LB_ACTION_LOCAL;
    b.flags = flags;
    Put(LB_MAP_BACKENDS, &id, &b);
  }

  // Service whose whole Maglev range [base, base+size) points at `fill` backends in turn.
  void SetService(const IPAddr& vip, uint16_t port, uint8_t proto, uint32_t svc_id,
                  const std::vector<uint32_t>& fill, uint32_t base = 0, uint32_t size = 251) {
    for (uint32_t i = 0; i < size && !fill.empty(); ++i) {
      uint32_t slot = base + i, id = fill[i % fill.size()];
      Put(LB_MAP_MAGLEV, &slot, &id);
    }
    lb_vip_key k{};
    FillAddr(k.addr, vip);
    k.port = htons(port);
    k.proto = proto;
    k.family = FamilyOf(vip);
    lb_service s{};
    s.id = svc_id;
    s.backend_count = static_cast<uint32_t>(fill.size());
    s.maglev_base = base;
    s.maglev_size = fill.empty() ? 0 : size;
    Put(LB_MAP_SERVICES, &k, &s);
    Put(LB_MAP_SERVICE_KEYS, &svc_id, &k);  // as the agent does: conntrack hits confirm by id
  }

  // An endpoint on another node, reached through `node`.
  void SetRemoteBackend(uint32_t id, const IPAddr& addr, uint16_t port, const IPAddr& node) {
    lb_backend b{};
    FillAddr(b.addr, addr);
    FillAddr(b.tunnel, node);
    b.port = htons(port);
    b.family = FamilyOf(addr);
    b.action = LB_ACTION_ENCAP;
    Put(LB_MAP_BACKENDS, &id, &b);
  }

  // An endpoint of this node, which encapsulated flows may name, with the VIP:ports it serves.
  void SetLocalEndpoint(const IPAddr& addr, uint16_t port, uint8_t proto, uint32_t backend_id,
                        const std::vector<std::pair<IPAddr, uint16_t>>& vips = {}) {
    lb_endpoint_key k{};
    FillAddr(k.addr, addr);
    k.port = htons(port);
    k.proto = proto;
    k.family = FamilyOf(addr);
    lb_endpoint_value v{};
    v.backend_id = backend_id;
    for (const auto& [vip, vport] : vips) {
      FillAddr(v.vips[v.vip_count].vip, vip);
      v.vips[v.vip_count++].port = htons(vport);
    }
    Put(LB_MAP_ENDPOINTS, &k, &v);
  }

  void SetNodeAddrs(const IPAddr& v4, const IPAddr& v6) {
    lb_node_addrs n{};
    std::memcpy(&n.v4, AddrBytes(v4).data(), 4);
    FillAddr(n.v6, v6);
    uint32_t zero = 0;
    Put(LB_MAP_NODE, &zero, &n);
  }

  void SetVipAddr(const IPAddr& vip, uint32_t services = 1) {
    lb_vip_addr_key k{};
    FillAddr(k.addr, vip);
    k.family = FamilyOf(vip);
    lb_vip_addr_value v{services};
    Put(LB_MAP_VIP_ADDRS, &k, &v);
  }

  static lb_ct_key CtKey(const IPAddr& client, uint16_t cport, const IPAddr& vip, uint16_t vport,
                         uint8_t proto) {
    lb_ct_key k{};
    FillAddr(k.src, client);
    FillAddr(k.dst, vip);
    k.sport = htons(cport);
    k.dport = htons(vport);
    k.proto = proto;
    k.family = FamilyOf(client);
    return k;
  }

  // A VIP flow remembered in conntrack: client:cport -> vip:vport on backend `backend_id`.
  void SetConntrack(const IPAddr& client, uint16_t cport, const IPAddr& vip, uint16_t vport,
                    uint8_t proto, uint32_t backend_id) {
    lb_ct_key k = CtKey(client, cport, vip, vport, proto);
    lb_ct_value v{};
    v.backend_id = backend_id;
    Put(LB_MAP_CONNTRACK, &k, &v);
  }

  std::optional<lb_ct_value> GetConntrack(const IPAddr& client, uint16_t cport, const IPAddr& vip,
                                          uint16_t vport, uint8_t proto) {
    lb_ct_key k = CtKey(client, cport, vip, vport, proto);
    lb_ct_value v{};
    if (bpf_map_lookup_elem(fd(LB_MAP_CONNTRACK), &k, &v) != 0) return std::nullopt;
    return v;
  }

  RunResult RunXdp(const Bytes& in, uint32_t ifindex = kLoopbackIfindex) {
    return Run(objs_->xdp_prog_fd(), in, ifindex, true);
  }
  RunResult RunTc(const Bytes& in) { return Run(objs_->tc_prog_fd(), in, 0, false); }

  RunResult Run(int prog, const Bytes& in, uint32_t ifindex, bool xdp) {
    RunResult r;
    r.out.resize(in.size() + 256);
    xdp_md ctx{};
    ctx.data_end = static_cast<uint32_t>(in.size());
    ctx.ingress_ifindex = ifindex;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = r.out.data(),
                .data_size_in = static_cast<uint32_t>(in.size()),
                .data_size_out = static_cast<uint32_t>(r.out.size()));
    if (xdp) {
      opts.ctx_in = &ctx;
      opts.ctx_size_in = sizeof(ctx);
    }
    int err = bpf_prog_test_run_opts(prog, &opts);
    EXPECT_EQ(err, 0) << "test_run failed: " << errno;
    r.verdict = opts.retval;
    r.out.resize(opts.data_size_out);
    return r;
  }

  void Check(const Case& c) {
    SCOPED_TRACE(c.description);
    RunResult r = RunXdp(c.in);
    EXPECT_EQ(r.verdict, c.verdict);
    if (c.out) {
      EXPECT_EQ(r.out, *c.out);
    }
  }

  uint64_t ReasonCount(enum lb_reason reason) { return PerCpuPackets(LB_MAP_REASON_STATS, reason); }

  uint64_t PerCpuPackets(const char* map, uint32_t index) {
    std::vector<lb_counter> v(libbpf_num_possible_cpus());
    if (bpf_map_lookup_elem(fd(map), &index, v.data()) != 0) return 0;
    uint64_t n = 0;
    for (const auto& c : v) n += c.packets;
    return n;
  }

  // Every way of the flow cache in use, on any CPU (lb_flow_cache is mappable: read in place).
  std::vector<lb_flow_cache_entry> FlowCacheWays() {
    std::vector<lb_flow_cache_entry> used;
    bpf_map_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd(LB_MAP_FLOW_CACHE), &info, &len) != 0) return used;
    const size_t bytes = static_cast<size_t>(info.max_entries) * sizeof(lb_flow_cache_set);
    void* m = mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd(LB_MAP_FLOW_CACHE), 0);
    if (m == MAP_FAILED) return used;
    const auto* sets = static_cast<const lb_flow_cache_set*>(m);
    for (size_t i = 0; i < info.max_entries; ++i)
      for (const auto& e : sets[i].way)
        if (e.proto) used.push_back(e);
    munmap(m, bytes);
    return used;
  }

  // The flow cache's copies of one IPv4 flow.
  std::vector<lb_flow_cache_entry> FlowCacheCopies(const IPAddr& client, uint16_t cport,
                                                   const IPAddr& vip, uint16_t vport,
                                                   uint8_t proto) {
    const lb_ct_key k = CtKey(client, cport, vip, vport, proto);
    std::vector<lb_flow_cache_entry> found;
    for (const auto& e : FlowCacheWays())
      if (e.proto == proto && e.src == k.src[0] && e.dst == k.dst[0] &&
          e.ports == (static_cast<uint32_t>(k.sport) | static_cast<uint32_t>(k.dport) << 16))
        found.push_back(e);
    return found;
  }

  // The coarse second the flow cache stamps its copies with (bpf_ktime_get_coarse_ns() >> 30).
  static uint64_t CoarseSecond() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec) >> 30;
  }

  static void WaitForNextCoarseSecond() {
    const uint64_t now = CoarseSecond();
    while (CoarseSecond() == now) usleep(5000);
  }

  size_t ConntrackEntries() {
    size_t n = 0;
    lb_ct_key k{}, next{};
    const void* prev = nullptr;
    while (bpf_map_get_next_key(fd(LB_MAP_CONNTRACK), prev, &next) == 0) {
      ++n;
      k = next;
      prev = &k;
    }
    return n;
  }

  std::unique_ptr<dataplane::BpfObjects> objs_;
};

}  // namespace ironlb::testpkt
