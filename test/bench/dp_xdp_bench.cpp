// Data plane costs, measured in the kernel with BPF_PROG_TEST_RUN inside a private network
// namespace: ns per packet of xdp_lb's paths (pass-through, ARP reply, NDP advert, established
// flow, new flow into an empty and into a full conntrack table, an established flow to an
// endpoint on another node (GUE encapsulation), the endpoint's node's decapsulation, ping to a
// VIP; and, across nodes, the ICMP paths and an unresolved next hop) through bench_harness -- which
// restores the frame before every run -- and MapSync's time to program 10,000 services.
//
// Every path is measured in rounds; each round runs, one after the other on the same frame, the
// harness alone (its own cost), the minimal DNAT + redirect program of test/bench/bpf (the local
// ceiling), optionally a baseline xdp_lb object (IRONLB_BASELINE_XDP_OBJ=path, e.g. the previous
// build, see test/bench/build_baseline_xdp.sh) and this build's xdp_lb. Reported: medians and
// ranges over the rounds of each program's cost net of the same round's harness cost. The tc
// programs run the same way through test/bench/bpf/tc_bench.bpf.c's tc_harness, beside a minimal
// reverse-NAT program.
// IRONLB_KATRAN_XDP_OBJ=path adds Katran's balancer (built outside this repository from its own
// sources; docs/benchmarks-dataplane.md says how) as a peer on the DNAT paths.
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>

#include "../bpf/packet_builder.h"
#include "bench_harness.skel.h"
#include "dataplane/bpf_objects.h"
#include "dataplane/map_layout.h"
#include "dataplane/map_ops.h"
#include "dataplane/map_sync.h"
#include "dataplane/nexthop_table.h"
#include "min_dnat.h"
#include "min_dnat.skel.h"
#include "tc_bench.skel.h"

namespace {

using namespace ironlb;
using namespace ironlb::testpkt;

constexpr int kRepeat = 200000;
constexpr int kNewFlowRepeat = 100000;  // < LB_CT_ENTRIES: the "empty table" case never fills it
constexpr uint32_t kLoopback = 1;
constexpr uint32_t kFirstClient = 0x0b000000;  // 11.0.0.0: varied client addresses count up
const Mac kClientMac = {2, 0, 0, 0, 0, 1}, kNodeMac = {2, 0, 0, 0, 0, 0xaa};
const Mac kBroadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, kZero = {};
const char* const kEndpointLink = "bench0";  // inside the benchmark's private namespace

struct BenchFrame {
  uint32_t len;
  uint32_t vary_off;
  uint8_t data[128];
};

void FillAddr(__be32 dst[4], const IPAddr& a) {
  std::memset(dst, 0, 16);
  Bytes b = AddrBytes(a);
  std::memcpy(dst, b.data(), b.size());
}

int Sh(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  if (rc != 0) throw std::runtime_error("failed: " + cmd);
  return rc;
}

// The endpoints' network: a veth in the private namespace with permanent neighbour entries, so
// bpf_fib_lookup succeeds and the established path ends in XDP_REDIRECT as on a real node.
void SetUpNetwork() {
  Sh("ip link set lo up");
  Sh(std::string("ip link add ") + kEndpointLink + " type veth peer name bench1");
  Sh(std::string("ip link set ") + kEndpointLink + " up && ip link set bench1 up");
  Sh(std::string("ip addr add 10.1.0.254/24 dev ") + kEndpointLink);
  for (int i = 1; i <= 3; ++i)
    Sh("ip neigh add 10.1.0." + std::to_string(i) + " lladdr 02:00:00:00:01:0" + std::to_string(i) +
       " dev " + kEndpointLink + " nud permanent");
  // The fabric to the other nodes: node B (203.0.113.22) for the encapsulation path.
  Sh(std::string("ip addr add 203.0.113.21/24 dev ") + kEndpointLink);
  Sh(std::string("ip neigh add 203.0.113.22 lladdr 02:00:00:00:02:02 dev ") + kEndpointLink +
     " nud permanent");
  Sh("sysctl -qw net.ipv4.conf.all.forwarding=1");
}

// One xdp_lb build: this tree's (through BpfObjects) or a baseline object file.
class LbUnderTest {
 public:
  virtual ~LbUnderTest() = default;
  virtual int prog_fd() const = 0;
  virtual int map_fd(const char* name) const = 0;
};

// With the next-hop table (the default), a real NextHopTable answers for the endpoints 10.1.0.1-3
// (backend ids 1-3) from the namespace's routes and neighbours, as the agent's does.
class CurrentLb : public LbUnderTest {
 public:
  CurrentLb(uint64_t max_inserts, bool nexthop_table,
            uint32_t flow_cache_entries = LB_FLOW_CACHE_DEFAULT_ENTRIES) {
    dataplane::LoadOptions o;
    o.max_ct_inserts_per_sec = max_inserts;
    o.nexthop_table = nexthop_table;
    o.flow_cache_entries = flow_cache_entries;
    objs_ = dataplane::BpfObjects::OpenAndLoad(o);
    if (!nexthop_table) return;
    nexthops_ = std::make_unique<dataplane::NextHopTable>(objs_->map_fd(LB_MAP_NEXTHOPS),
                                                          objs_->map_fd(LB_MAP_NEXTHOP_LIVE),
                                                          std::vector<uint32_t>{kLoopback});
    dataplane::NextHopTable::Endpoints endpoints;  // sorted by id, as SetEndpoints wants
    for (uint32_t id = 1; id <= 3; ++id)
      endpoints.emplace_back(id, *IPAddr::Parse("10.1.0." + std::to_string(id)));
    nexthops_->SetEndpoints(endpoints);
    nexthops_->Sync();
    if (nexthops_->Stats().answered != endpoints.size())
      throw std::runtime_error("the next-hop table did not answer for every endpoint");
  }
  int prog_fd() const override { return objs_->xdp_prog_fd(); }
  int map_fd(const char* name) const override { return objs_->map_fd(name); }

 private:
  std::unique_ptr<dataplane::BpfObjects> objs_;
  std::unique_ptr<dataplane::NextHopTable> nexthops_;  // stops before objs_ closes the maps
};

class BaselineLb : public LbUnderTest {
 public:
  BaselineLb(const char* path, uint64_t max_inserts) {
    obj_ = bpf_object__open_file(path, nullptr);
    if (!obj_) throw std::runtime_error(std::string("cannot open ") + path);
    SetKnob("cfg_max_ct_inserts_per_sec", max_inserts);
    if (bpf_object__load(obj_) != 0) throw std::runtime_error(std::string("cannot load ") + path);
    prog_ = bpf_object__find_program_by_name(obj_, "xdp_lb");
    if (!prog_) throw std::runtime_error("baseline has no xdp_lb program");
  }
  ~BaselineLb() override { bpf_object__close(obj_); }
  int prog_fd() const override { return bpf_program__fd(prog_); }
  int map_fd(const char* name) const override {
    bpf_map* m = bpf_object__find_map_by_name(obj_, name);
    return m ? bpf_map__fd(m) : -1;
  }

 private:
  // A const volatile knob in .rodata, found through BTF (no skeleton for an old object).
  void SetKnob(const char* var, uint64_t value) {
    const btf* b = bpf_object__btf(obj_);
    int sec = btf__find_by_name_kind(b, ".rodata", BTF_KIND_DATASEC);
    bpf_map* rodata = nullptr;
    bpf_map* m;
    bpf_object__for_each_map(m, obj_) {
      if (bpf_map__is_internal(m) && std::strstr(bpf_map__name(m), ".rodata")) rodata = m;
    }
    if (sec < 0 || !rodata) throw std::runtime_error("baseline has no .rodata");
    const btf_type* t = btf__type_by_id(b, sec);
    const btf_var_secinfo* vs = btf_var_secinfos(t);
    for (int i = 0; i < btf_vlen(t); ++i, ++vs) {
      const btf_type* v = btf__type_by_id(b, vs->type);
      if (std::strcmp(btf__name_by_offset(b, v->name_off), var) != 0) continue;
      size_t size = 0;
      const auto* init = static_cast<const uint8_t*>(bpf_map__initial_value(rodata, &size));
      if (!init || vs->offset + sizeof(value) > size) break;
      std::vector<uint8_t> data(init, init + size);
      std::memcpy(data.data() + vs->offset, &value, sizeof(value));
      if (bpf_map__set_initial_value(rodata, data.data(), size) != 0) break;
      return;
    }
    throw std::runtime_error(std::string("baseline has no knob ") + var);
  }
  bpf_object* obj_ = nullptr;
  bpf_program* prog_ = nullptr;
};

// Katran's balancer object, filled with the same service through its maps. Only the map ABI is
// described here (key/value shapes of vip_map, reals, ch_rings, ctl_array and the per-CPU LRU
// maps of lru_mapping, as in katran/lib/bpf/balancer_structs.h); none of its code is used.
class KatranPeer {
 public:
  static constexpr uint32_t kRingSize = 65537;  // RING_SIZE
  struct VipKey {
    __be32 addr[4];
    uint16_t port;
    uint8_t proto;
    uint8_t pad;
  };
  struct VipMeta {
    uint32_t flags, vip_num;
  };
  struct Real {
    __be32 addr[4];
    uint8_t flags;
    uint8_t pad[3];
  };
  struct FlowKey {  // flow_key: src[16], dst[16], ports, proto (+3 bytes of padding)
    uint8_t bytes[40];
  };
  struct RealPosLru {
    uint32_t pos;
    uint32_t pad;
    uint64_t atime;
  };

  KatranPeer(const char* path, uint32_t lru_entries) {
    obj_ = bpf_object__open_file(path, nullptr);
    if (!obj_) throw std::runtime_error(std::string("cannot open ") + path);
    // Only VIP 0's ring is used: no need for 512 rings of 65,537 slots.
    bpf_map* rings = bpf_object__find_map_by_name(obj_, "ch_rings");
    bpf_map* lru = bpf_object__find_map_by_name(obj_, "lru_mapping");
    if (!rings || !lru) throw std::runtime_error("not Katran's balancer object");
    bpf_map__set_max_entries(rings, kRingSize);
    // Katran's production layout: one LRU per CPU, found through lru_mapping.
    for (uint32_t cpu = 0; cpu < static_cast<uint32_t>(libbpf_num_possible_cpus()); ++cpu) {
      int fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "katran_lru", sizeof(FlowKey),
                              sizeof(RealPosLru), lru_entries, nullptr);
      if (fd < 0) throw std::runtime_error("cannot create a Katran LRU");
      lru_fds_.push_back(fd);
    }
    // Our own LRU of the size we want is the inner-map template (libbpf cannot resize Katran's).
    bpf_map__set_inner_map_fd(lru, lru_fds_[0]);
    if (bpf_object__load(obj_) != 0) throw std::runtime_error(std::string("cannot load ") + path);
    prog_ = bpf_object__find_program_by_name(obj_, "balancer_ingress");
    if (!prog_) throw std::runtime_error("no balancer_ingress in the Katran object");
    for (uint32_t cpu = 0; cpu < lru_fds_.size(); ++cpu)
      if (bpf_map_update_elem(bpf_map__fd(lru), &cpu, &lru_fds_[cpu], BPF_ANY) != 0)
        throw std::runtime_error("cannot fill Katran's lru_mapping");
    VipKey k{};
    k.addr[0] = inet_addr("198.51.100.10");
    k.port = htons(80);
    k.proto = kProtoTCP;
    VipMeta m{0, 0};
    Update("vip_map", &k, &m);
    for (uint32_t id = 1; id <= 3; ++id) {
      Real r{};
      r.addr[0] = inet_addr(("10.1.0." + std::to_string(id)).c_str());
      Update("reals", &id, &r);
    }
    for (uint32_t i = 0; i < kRingSize; ++i) {
      uint32_t id = 1 + i % 3;
      Update("ch_rings", &i, &id);
    }
    uint64_t mac = 0;  // ctl_array[0]: the next hop's MAC for the encapsulated packet
    const uint8_t gw[6] = {2, 0, 0, 0, 1, 1};
    std::memcpy(&mac, gw, 6);
    uint32_t zero = 0;
    Update("ctl_array", &zero, &mac);
  }
  ~KatranPeer() {
    for (int fd : lru_fds_) close(fd);
    bpf_object__close(obj_);
  }
  int prog_fd() const { return bpf_program__fd(prog_); }
  void ClearLru() const {
    for (int fd : lru_fds_) {
      std::vector<FlowKey> keys;
      FlowKey k{}, next{};
      const void* prev = nullptr;
      while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        keys.push_back(next);
        k = next;
        prev = &k;
      }
      for (const auto& key : keys) bpf_map_delete_elem(fd, &key);
    }
  }

 private:
  void Update(const char* map, const void* k, const void* v) {
    bpf_map* m = bpf_object__find_map_by_name(obj_, map);
    if (!m || bpf_map_update_elem(bpf_map__fd(m), k, v, BPF_ANY) != 0)
      throw std::runtime_error(std::string("cannot fill Katran's ") + map);
  }
  bpf_object* obj_ = nullptr;
  bpf_program* prog_ = nullptr;
  std::vector<int> lru_fds_;
};

// One service (3 endpoints), an owned VIP and the loopback MAC.
void Populate(const LbUnderTest& lb) {
  const IPAddr vip = Addr("198.51.100.10");
  for (uint32_t id = 1; id <= 3; ++id) {
    lb_backend b{};
    FillAddr(b.addr, Addr("10.1.0." + std::to_string(id)));
    b.port = htons(8080);
    b.family = LB_FAMILY_V4;
    b.action = LB_ACTION_LOCAL;
    bpf_map_update_elem(lb.map_fd(LB_MAP_BACKENDS), &id, &b, BPF_ANY);
  }
  for (uint32_t i = 0; i < 251; ++i) {
    uint32_t id = 1 + i % 3;
    bpf_map_update_elem(lb.map_fd(LB_MAP_MAGLEV), &i, &id, BPF_ANY);
  }
  lb_vip_key k{};
  FillAddr(k.addr, vip);
  k.port = htons(80);
  k.proto = kProtoTCP;
  k.family = LB_FAMILY_V4;
  lb_service s{1, 0, 3, 0, 251, 0};
  bpf_map_update_elem(lb.map_fd(LB_MAP_SERVICES), &k, &s, BPF_ANY);
  if (lb.map_fd(LB_MAP_SERVICE_KEYS) >=
      0)  // a baseline from before the one-lookup hit path has none
    bpf_map_update_elem(lb.map_fd(LB_MAP_SERVICE_KEYS), &s.id, &k, BPF_ANY);
  for (const IPAddr& a : {vip, Addr("2001:db8:100::10")}) {
    lb_l2_key lk{};
    FillAddr(lk.addr, a);
    lk.ifindex = kLoopback;
    lk.family = a.is_v4() ? LB_FAMILY_V4 : LB_FAMILY_V6;
    lb_l2_value lv{LB_L2_OWNED};
    bpf_map_update_elem(lb.map_fd(LB_MAP_L2), &lk, &lv, BPF_ANY);
  }
  // Vouched for good, so the hand-off row measures the hand-off. A baseline from before the vouch
  // has 8-byte entries: the kernel copies only the MAC and its padding from this.
  lb_iface iface{};
  std::memcpy(iface.mac, kNodeMac.data(), 6);
  iface.tc_ingress_until_ns = UINT64_MAX;
  bpf_map_update_elem(lb.map_fd(LB_MAP_IFACES), &kLoopback, &iface, BPF_ANY);
}

// This node is 203.0.113.21; for the encapsulation path the three endpoints are on node B
// (203.0.113.22), for the decapsulation path endpoint 1 is this node's own.
void PopulateAcrossNodes(const LbUnderTest& lb, bool endpoints_elsewhere) {
  lb_node_addrs node{};
  node.v4 = inet_addr("203.0.113.21");
  uint32_t zero = 0;
  bpf_map_update_elem(lb.map_fd(LB_MAP_NODE), &zero, &node, BPF_ANY);
  lb_vip_addr_key vk{};
  FillAddr(vk.addr, Addr("198.51.100.10"));
  vk.family = LB_FAMILY_V4;
  lb_vip_addr_value vv{1};
  bpf_map_update_elem(lb.map_fd(LB_MAP_VIP_ADDRS), &vk, &vv, BPF_ANY);
  if (endpoints_elsewhere) {
    for (uint32_t id = 1; id <= 3; ++id) {
      lb_backend b{};
      bpf_map_lookup_elem(lb.map_fd(LB_MAP_BACKENDS), &id, &b);
      b.action = LB_ACTION_ENCAP;
      b.tunnel[0] = inet_addr("203.0.113.22");
      bpf_map_update_elem(lb.map_fd(LB_MAP_BACKENDS), &id, &b, BPF_ANY);
    }
    return;
  }
  lb_endpoint_key ek{};
  FillAddr(ek.addr, Addr("10.1.0.1"));
  ek.port = htons(8080);
  ek.proto = kProtoTCP;
  ek.family = LB_FAMILY_V4;
  lb_endpoint_value ev{};
  ev.backend_id = 1;
  ev.vip_count = 1;
  FillAddr(ev.vips[0].vip, Addr("198.51.100.10"));
  ev.vips[0].port = htons(80);
  bpf_map_update_elem(lb.map_fd(LB_MAP_ENDPOINTS), &ek, &ev, BPF_ANY);
}

template <typename Key>
void ClearMap(int fd) {
  if (fd < 0) return;  // a baseline without that map
  std::vector<Key> keys;
  Key k{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    keys.push_back(next);
    k = next;
    prev = &k;
  }
  for (const auto& key : keys) bpf_map_delete_elem(fd, &key);
}

void ClearConntrack(const LbUnderTest& lb) {
  ClearMap<lb_ct_key>(lb.map_fd(LB_MAP_CONNTRACK));
}

// The same service in the minimal DNAT + redirect program.
std::unique_ptr<min_dnat, void (*)(min_dnat*)> LoadCeiling() {
  std::unique_ptr<min_dnat, void (*)(min_dnat*)> c(min_dnat::open_and_load(), min_dnat::destroy);
  if (!c) throw std::runtime_error("cannot load min_dnat");
  min_dnat_config cfg{};
  cfg.vip = inet_addr("198.51.100.10");
  cfg.vip_port = htons(80);
  cfg.proto = kProtoTCP;
  cfg.count = 3;
  std::memcpy(cfg.src_mac, kNodeMac.data(), 6);
  const uint32_t ifindex = if_nametoindex(kEndpointLink);
  for (int i = 0; i < 3; ++i) {
    auto& e = cfg.endpoints[i];
    e.addr = inet_addr(("10.1.0." + std::to_string(i + 1)).c_str());
    e.port = htons(8080);
    const uint8_t mac[6] = {2, 0, 0, 0, 1, static_cast<uint8_t>(i + 1)};
    std::memcpy(e.mac, mac, 6);
    e.ifindex = ifindex;
  }
  uint32_t zero = 0;
  bpf_map_update_elem(bpf_map__fd(c->maps.min_dnat_config), &zero, &cfg, BPF_ANY);
  return c;
}

// Both harnesses (bench_harness for XDP, tc_bench for tc) restore their frame from a one-slot
// array and tail-call the program in a one-slot program array.
void PutFrame(int frame_map, const Bytes& f, uint32_t vary_off) {
  BenchFrame bf{};
  bf.len = static_cast<uint32_t>(f.size());
  bf.vary_off = vary_off;
  std::memcpy(bf.data, f.data(), f.size());
  uint32_t zero = 0;
  bpf_map_update_elem(frame_map, &zero, &bf, BPF_ANY);
}

// prog_fd < 0: empty slot, the harness measures itself.
void PutTarget(int progs_map, int prog_fd) {
  uint32_t zero = 0;
  if (prog_fd >= 0)
    bpf_map_update_elem(progs_map, &zero, &prog_fd, BPF_ANY);
  else
    bpf_map_delete_elem(progs_map, &zero);
}

struct Harness {
  bench_harness* h = nullptr;
  Harness() {
    h = bench_harness::open_and_load();
    if (!h) throw std::runtime_error("cannot load bench_harness");
    uint32_t zero = 0, first = kFirstClient;
    bpf_map_update_elem(bpf_map__fd(h->maps.bench_counter), &zero, &first, BPF_ANY);
  }
  ~Harness() { bench_harness::destroy(h); }

  void SetFrame(const Bytes& f, uint32_t vary_off) {
    PutFrame(bpf_map__fd(h->maps.bench_frame), f, vary_off);
  }
  void SetTarget(int prog_fd) { PutTarget(bpf_map__fd(h->maps.bench_progs), prog_fd); }
  // Average ns per run over `repeat` runs, and the last verdict.
  std::pair<double, uint32_t> Run(const Bytes& f, int repeat) {
    uint32_t zero = 0;
    const uint64_t fresh[2] = {0, 0};  // a new buffer: the harness notes where its data starts
    bpf_map_update_elem(bpf_map__fd(h->maps.bench_head), &zero, fresh, BPF_ANY);
    Bytes out(f.size() + 256);
    xdp_md ctx{};
    ctx.data_end = static_cast<uint32_t>(f.size());
    ctx.ingress_ifindex = kLoopback;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f.data(), .data_out = out.data(),
                .data_size_in = static_cast<uint32_t>(f.size()),
                .data_size_out = static_cast<uint32_t>(out.size()), .ctx_in = &ctx,
                .ctx_size_in = sizeof(ctx), .repeat = repeat);
    if (bpf_prog_test_run_opts(bpf_program__fd(h->progs.bench_harness), &opts) != 0)
      throw std::runtime_error("test_run failed");
    return {static_cast<double>(opts.duration), opts.retval};
  }
};

Bytes PassThrough() {
  return L4Frame(kNodeMac, kClientMac, Addr("192.0.2.10"), Addr("192.0.2.1"),
                 {kProtoUDP, 1000, 53, 0, Bytes(16, 'x'), false});
}
Bytes ArpRequest() {
  return Ether(kBroadcast, kClientMac, kEthARP,
               Arp(1, kClientMac, Addr("192.0.2.10"), kZero, Addr("198.51.100.10")));
}
Bytes NeighborSolicit() {
  const IPAddr src = Addr("2001:db8::10"), dst = Addr("ff02::1:ff00:10");
  return Ether({0x33, 0x33, 0xff, 0, 0, 0x10}, kClientMac, kEthIPv6,
               IPv6(src, dst, kProtoICMPv6,
                    NdMessage(135, 0, src, dst, Addr("2001:db8:100::10"), kClientMac), 255));
}
Bytes TcpToVip(uint8_t flags) {
  return L4Frame(kNodeMac, kClientMac, Addr("192.0.2.10"), Addr("198.51.100.10"),
                 {kProtoTCP, 40000, 80, flags, Bytes(16, 'x'), false});
}
// What node A sends node B for an established flow to endpoint 10.1.0.1:8080 (GUE, lb_maps.h).
Bytes GueFromNodeA() {
  Bytes inner = IPv4(Addr("192.0.2.10"), Addr("198.51.100.10"), kProtoTCP,
                     Segment(Addr("192.0.2.10"), Addr("198.51.100.10"),
                             {kProtoTCP, 40000, 80, kTcpAck, Bytes(16, 'x'), false}));
  Bytes d;
  Put16(d, 50000);
  Put16(d, LB_GUE_PORT);
  Put16(d, static_cast<uint16_t>(8 + 4 + 8 + inner.size()));
  Put16(d, 0);
  Append(d, Bytes{2, 4, 0, 0, 10, 1, 0, 1, 8080 >> 8, 8080 & 0xff, 0, 0});
  Append(d, inner);
  return Ether(
      kNodeMac, {2, 0, 0, 0, 2, 2}, kEthIPv4,
      IPv4(Addr("203.0.113.22"), Addr("203.0.113.21"), kProtoUDP, d, IPv4Opts{64, {}, 0, 0x4000}));
}
Bytes PingToVip() {
  Bytes icmp = {8, 0, 0, 0, 0x12, 0x34, 0, 1};
  Append(icmp, Bytes(16, 'p'));
  SetChecksum(icmp, 2, Checksum(icmp));
  return Ether(kNodeMac, kClientMac, kEthIPv4,
               IPv4(Addr("192.0.2.10"), Addr("198.51.100.10"), 1, icmp));
}
constexpr uint32_t kIpv4SourceOffset = 14 + 12;

enum Path {
  kPass,
  kArp,
  kNdp,
  kEstablished,
  kNewFlow,
  kNewFlowEvicting,
  kEncap,
  kDecap,
  kPing,
};

const char* PathName(Path p) {
  switch (p) {
    case kPass: return "pass-through (UDP, not a VIP)";
    case kArp: return "ARP request -> reply";
    case kNdp: return "NDP solicitation -> advert";
    case kEstablished: return "established: CT hit -> DNAT -> FIB -> redirect";
    case kNewFlow: return "new flow, CT table not full: miss -> Maglev -> insert -> redirect";
    case kNewFlowEvicting: return "new flow, CT table full: insert evicts (LRU)";
    case kEncap: return "established, endpoint on another node: CT hit -> GUE -> FIB -> redirect";
    case kDecap: return "endpoint's node: GUE -> decap -> record -> DNAT -> FIB -> redirect";
    case kPing: return "ping to a VIP -> echo reply (XDP_TX)";
  }
  return "?";
}

int Rounds() {
  const char* r = std::getenv("IRONLB_BENCH_ROUNDS");
  return r ? std::max(1, std::atoi(r)) : 7;
}

// IRONLB_BASELINE_XDP_OBJ: comma-separated xdp_lb objects, each measured beside this build.
std::vector<std::string> BaselineObjects() {
  std::vector<std::string> out;
  const char* env = std::getenv("IRONLB_BASELINE_XDP_OBJ");
  std::string s = env ? env : "";
  for (size_t pos = 0; pos < s.size();) {
    size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    if (comma > pos) out.push_back(s.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

struct Stat {
  double median, min, max;
};
Stat Summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

void BM_XdpPath(benchmark::State& state) {
  const auto path = static_cast<Path>(state.range(0));
  const bool new_flows = path == kNewFlow || path == kNewFlowEvicting;
  // Lifting the flood guard for new flows makes every run an insert, the cost being measured.
  const uint64_t max_inserts = new_flows ? std::numeric_limits<uint64_t>::max() : 1000000;
  const bool dnat = path == kEstablished || new_flows || path == kEncap || path == kDecap;
  std::vector<std::pair<std::string, std::unique_ptr<LbUnderTest>>> lbs;
  for (const std::string& obj : BaselineObjects())
    lbs.emplace_back(obj.substr(obj.rfind('/') + 1),
                     std::make_unique<BaselineLb>(obj.c_str(), max_inserts));
  lbs.emplace_back("xdp_lb", std::make_unique<CurrentLb>(max_inserts, true));
  // The same build with --nexthop-table off: bpf_fib_lookup for every packet.
  if (dnat) lbs.emplace_back("xdp_lb-fib", std::make_unique<CurrentLb>(max_inserts, false));
  // And with --flow-cache-entries 0: every packet reads conntrack.
  if (dnat) lbs.emplace_back("xdp_lb-nocache", std::make_unique<CurrentLb>(max_inserts, true, 0));
  for (auto& [name, lb] : lbs) {
    Populate(*lb);
    if (path == kEncap || path == kDecap || path == kPing) PopulateAcrossNodes(*lb, path == kEncap);
  }
  auto ceiling = LoadCeiling();
  std::unique_ptr<KatranPeer> katran;
  if (const char* k = std::getenv("IRONLB_KATRAN_XDP_OBJ");
      k && (path == kEstablished || new_flows || path == kEncap))
    katran = std::make_unique<KatranPeer>(k, LB_CT_ENTRIES);
  Harness h;
  Bytes frame = path == kPass    ? PassThrough()
                : path == kArp   ? ArpRequest()
                : path == kNdp   ? NeighborSolicit()
                : new_flows      ? TcpToVip(kTcpSyn)
                : path == kDecap ? GueFromNodeA()
                : path == kPing  ? PingToVip()
                                 : TcpToVip(kTcpAck);
  h.SetFrame(frame, new_flows ? kIpv4SourceOffset : 0);
  const int repeat = new_flows ? kNewFlowRepeat : kRepeat;
  if (path == kNewFlowEvicting) {
    for (auto& [name, lb] : lbs) {  // fill every table with flows never seen again
      h.SetTarget(lb->prog_fd());
      h.Run(frame, LB_CT_ENTRIES + kNewFlowRepeat);
    }
    if (katran) {  // every CPU's LRU: a run may land on any
      h.SetTarget(katran->prog_fd());
      for (int cpu = 0; cpu < libbpf_num_possible_cpus(); ++cpu)
        h.Run(frame, LB_CT_ENTRIES + kNewFlowRepeat);
    }
  }

  std::map<std::string, std::vector<double>> net;
  std::vector<double> harness;
  std::map<std::string, uint32_t> verdicts;
  for (auto _ : state) {
    for (int round = 0; round < Rounds(); ++round) {
      h.SetTarget(-1);
      const double base = h.Run(frame, repeat).first;
      harness.push_back(base);
      if (dnat && path != kDecap) {  // the ceiling has no decapsulation to compare with
        h.SetTarget(bpf_program__fd(ceiling->progs.min_dnat));
        auto [ns, v] = h.Run(frame, repeat);
        net["ceiling"].push_back(ns - base);
        verdicts["ceiling"] = v;
      }
      if (katran) {
        if (path == kNewFlow) katran->ClearLru();
        h.SetTarget(katran->prog_fd());
        auto [ns, v] = h.Run(frame, repeat);
        net["katran"].push_back(ns - base);
        verdicts["katran"] = v;
        h.SetTarget(bpf_program__fd(ceiling->progs.adjust_head_control));
        net["adjust_head"].push_back(h.Run(frame, repeat).first - base);
        verdicts["adjust_head"] = XDP_TX;
      }
      for (auto& [name, lb] : lbs) {
        if (path == kNewFlow) ClearConntrack(*lb);
        h.SetTarget(lb->prog_fd());
        auto [ns, v] = h.Run(frame, repeat);
        net[name].push_back(ns - base);
        verdicts[name] = v;
      }
    }
  }
  const Stat hs = Summarize(harness);
  state.counters["harness_ns"] = hs.median;
  std::printf("\n%s\n  %-22s %8s  %-17s  verdict\n", PathName(path), "program", "net ns",
              "range over rounds");
  std::printf("  %-22s %8.1f  [%6.1f, %6.1f]  (harness alone, %d rounds)\n", "harness", hs.median,
              hs.min, hs.max, Rounds());
  const Stat* ceiling_stat = nullptr;
  Stat cs{};
  if (net.count("ceiling")) {
    cs = Summarize(net["ceiling"]);
    ceiling_stat = &cs;
  }
  std::vector<std::string> order = {"ceiling", "katran", "adjust_head"};
  for (auto& [name, lb] : lbs) order.push_back(name);
  for (const std::string& name : order) {
    if (!net.count(name)) continue;
    const Stat s = Summarize(net[name]);
    state.counters[name + "_net_ns"] = s.median;
    std::printf("  %-22s %8.1f  [%6.1f, %6.1f]  %u", name.c_str(), s.median, s.min, s.max,
                verdicts[name]);
    if (ceiling_stat && name != "ceiling")
      std::printf("   %.2fx ceiling", s.median / ceiling_stat->median);
    if (net.count("katran") && name != "katran" && name != "ceiling" && name != "adjust_head")
      std::printf("   %.2fx katran", s.median / Summarize(net["katran"]).median);
    std::printf("\n");
  }
  std::fflush(stdout);
  state.SetLabel(PathName(path));
}
BENCHMARK(BM_XdpPath)->DenseRange(kPass, kPing)->Iterations(1)->Unit(benchmark::kMillisecond);

// ---- Across nodes: the ICMP paths, the unresolved next hop, and the tc programs (issue 12) -----
// Each round measures every row one after the other, so the ratios to the first rows (the
// established flow to a local endpoint and to another node's) are same-run ratios.

// Node C (203.0.113.23): a route of MTU 120, so a 114-byte packet no longer fits once encapsulated.
// Node D (203.0.113.24): on the fabric, no neighbour entry (the next hop is unresolved).
void SetUpAcrossNodesNetwork() {
  static bool done = false;
  if (done) return;
  Sh(std::string("ip route add 203.0.113.23/32 dev ") + kEndpointLink + " mtu lock 120");
  Sh(std::string("ip neigh add 203.0.113.23 lladdr 02:00:00:00:02:03 dev ") + kEndpointLink +
     " nud permanent");
  done = true;
}

void EncapTo(const LbUnderTest& lb, const char* node) {
  for (uint32_t id = 1; id <= 3; ++id) {
    lb_backend b{};
    bpf_map_lookup_elem(lb.map_fd(LB_MAP_BACKENDS), &id, &b);
    b.tunnel[0] = inet_addr(node);
    bpf_map_update_elem(lb.map_fd(LB_MAP_BACKENDS), &id, &b, BPF_ANY);
  }
}

// A router on the reply path says "fragmentation needed" (MTU 1400) about VIP:80 -> client:40000.
Bytes FragNeededAboutVipFlow() {
  const IPAddr vip = Addr("198.51.100.10"), client = Addr("192.0.2.10");
  Bytes quoted = IPv4(vip, client, kProtoTCP,
                      Segment(vip, client, {kProtoTCP, 80, 40000, kTcpAck, {}, false}));
  quoted.resize(20 + 8);
  Bytes icmp = {3, 4, 0, 0, 0, 0};
  Put16(icmp, 1400);
  Append(icmp, quoted);
  SetChecksum(icmp, 2, Checksum(icmp));
  return Ether(kNodeMac, kClientMac, kEthIPv4, IPv4(Addr("192.0.2.1"), vip, 1, icmp));
}

// A 114-byte IPv4 packet with DF set: fits the client's path, not node C's tunnel.
Bytes TcpToVipTooBigForNodeC() {
  return L4Frame(kNodeMac, kClientMac, Addr("192.0.2.10"), Addr("198.51.100.10"),
                 {kProtoTCP, 40000, 80, kTcpAck, Bytes(114 - 40, 'x'), false});
}

struct Row {
  const char* name;
  const LbUnderTest* lb;
  Bytes frame;
};

void BM_XdpAcrossNodes(benchmark::State& state) {
  SetUpAcrossNodesNetwork();
  const uint64_t max_inserts = 1000000;
  CurrentLb local(max_inserts, true), remote(max_inserts, true), narrow(max_inserts, true),
      unresolved(max_inserts, true);
  for (const LbUnderTest* lb : {&local, &remote, &narrow, &unresolved}) Populate(*lb);
  PopulateAcrossNodes(local, false);
  PopulateAcrossNodes(remote, true);
  PopulateAcrossNodes(narrow, true);
  EncapTo(narrow, "203.0.113.23");
  PopulateAcrossNodes(unresolved, true);
  EncapTo(unresolved, "203.0.113.24");
  std::vector<Row> rows = {
      {"established, local endpoint: CT hit -> DNAT -> redirect", &local, TcpToVip(kTcpAck)},
      {"established, other node: CT hit -> GUE -> redirect", &remote, TcpToVip(kTcpAck)},
      {"ICMP frag-needed about a VIP flow -> local endpoint", &local, FragNeededAboutVipFlow()},
      {"ICMP frag-needed about a VIP flow -> other node (GUE)", &remote, FragNeededAboutVipFlow()},
      {"too big for the tunnel -> frag-needed to the client", &narrow, TcpToVipTooBigForNodeC()},
      {"other node, next hop unresolved -> GUE -> pass to tc", &unresolved, TcpToVip(kTcpAck)},
      {"endpoint's node: decap -> record (CT) -> DNAT -> redirect", &local, GueFromNodeA()},
  };
  // The hand-off through each baseline (IRONLB_BASELINE_XDP_OBJ) in the same rounds, e.g. main's
  // before the tc_lb_ingress vouch; their names are kept alive beside them.
  std::vector<std::unique_ptr<BaselineLb>> baselines;
  std::vector<std::string> baseline_names;
  const auto objects = BaselineObjects();
  for (const auto& obj : objects) {
    baselines.push_back(std::make_unique<BaselineLb>(obj.c_str(), max_inserts));
    Populate(*baselines.back());
    PopulateAcrossNodes(*baselines.back(), true);
    EncapTo(*baselines.back(), "203.0.113.24");
    baseline_names.push_back("  same, baseline " + obj.substr(obj.find_last_of('/') + 1));
  }
  for (size_t i = 0; i < baselines.size(); ++i)
    rows.push_back({baseline_names[i].c_str(), baselines[i].get(), TcpToVip(kTcpAck)});
  Harness h;
  std::vector<std::vector<double>> net(rows.size());
  std::vector<double> harness;
  std::vector<uint32_t> verdicts(rows.size());
  for (auto _ : state) {
    for (int round = 0; round < Rounds(); ++round) {
      for (size_t i = 0; i < rows.size(); ++i) {
        h.SetFrame(rows[i].frame, 0);
        if (i == 0) {  // the harness's own cost, once a round (frames of similar size)
          h.SetTarget(-1);
          harness.push_back(h.Run(rows[i].frame, kRepeat).first);
        }
        h.SetTarget(rows[i].lb->prog_fd());
        auto [ns, v] = h.Run(rows[i].frame, kRepeat);
        net[i].push_back(ns - harness.back());
        verdicts[i] = v;
      }
    }
  }
  const Stat hs = Summarize(harness);
  const double local_ns = Summarize(net[0]).median, remote_ns = Summarize(net[1]).median;
  std::printf("\nxdp_lb across nodes\n  %-56s %8s  %-17s  verdict\n", "path", "net ns",
              "range over rounds");
  std::printf("  %-56s %8.1f  [%6.1f, %6.1f]  (harness alone, %d rounds)\n", "harness", hs.median,
              hs.min, hs.max, Rounds());
  for (size_t i = 0; i < rows.size(); ++i) {
    const Stat s = Summarize(net[i]);
    std::printf("  %-56s %8.1f  [%6.1f, %6.1f]  %u   %.2fx local, %.2fx GUE\n", rows[i].name,
                s.median, s.min, s.max, verdicts[i], s.median / local_ns, s.median / remote_ns);
  }
  std::fflush(stdout);
}
BENCHMARK(BM_XdpAcrossNodes)->Iterations(1)->Unit(benchmark::kMillisecond);

struct TcHarness {
  tc_bench* t = nullptr;
  TcHarness() {
    t = tc_bench::open_and_load();
    if (!t) throw std::runtime_error("cannot load tc_bench");
  }
  ~TcHarness() { tc_bench::destroy(t); }
  void SetFrame(const Bytes& f) { PutFrame(bpf_map__fd(t->maps.tc_bench_frame), f, 0); }
  void SetTarget(int prog_fd) { PutTarget(bpf_map__fd(t->maps.tc_bench_progs), prog_fd); }
  std::pair<double, uint32_t> Run(const Bytes& f, int repeat) {
    Bytes out(f.size() + 256);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f.data(), .data_out = out.data(),
                .data_size_in = static_cast<uint32_t>(f.size()),
                .data_size_out = static_cast<uint32_t>(out.size()), .repeat = repeat);
    if (bpf_prog_test_run_opts(bpf_program__fd(t->progs.tc_harness), &opts) != 0)
      throw std::runtime_error("tc test_run failed");
    return {static_cast<double>(opts.duration), opts.retval};
  }
};

// Endpoint 10.1.0.1:8080 serves VIP 198.51.100.10:80; client 192.0.2.10:40000's flow names it.
Bytes ReplyFromEndpoint(uint8_t flags, const Bytes& options = {}) {
  const IPAddr ep = Addr("10.1.0.1"), client = Addr("192.0.2.10");
  return Ether(kClientMac, kNodeMac, kEthIPv4,
               IPv4(ep, client, kProtoTCP,
                    Segment(ep, client, {kProtoTCP, 8080, 40000, flags, {}, false}, options)));
}

void BM_TcPath(benchmark::State& state) {
  dataplane::LoadOptions o;
  o.mss_clamp_mtu = 1500;  // what the uplink's MTU would give: test runs have no uplink
  auto objs = dataplane::BpfObjects::OpenAndLoad(o);
  lb_endpoint_key ek{};
  FillAddr(ek.addr, Addr("10.1.0.1"));
  ek.port = htons(8080);
  ek.proto = kProtoTCP;
  ek.family = LB_FAMILY_V4;
  lb_endpoint_value ev{};
  ev.backend_id = 1;
  ev.vip_count = 1;
  FillAddr(ev.vips[0].vip, Addr("198.51.100.10"));
  ev.vips[0].port = htons(80);
  bpf_map_update_elem(objs->map_fd(LB_MAP_ENDPOINTS), &ek, &ev, BPF_ANY);
  lb_ct_key ck{};
  FillAddr(ck.src, Addr("192.0.2.10"));
  FillAddr(ck.dst, Addr("198.51.100.10"));
  ck.sport = htons(40000);
  ck.dport = htons(80);
  ck.proto = kProtoTCP;
  ck.family = LB_FAMILY_V4;
  lb_ct_value cv{};
  cv.backend_id = 1;
  cv.service_id = 1;
  bpf_map_update_elem(objs->map_fd(LB_MAP_CONNTRACK), &ck, &cv, BPF_ANY);
  TcHarness h;
  const Bytes mss = {2, 4, 0x05, 0xb4};  // MSS 1460: more than the tunnel carries
  const Bytes other = L4Frame(kClientMac, kNodeMac, Addr("203.0.113.21"), Addr("192.0.2.10"),
                              {kProtoTCP, 22, 40000, kTcpAck, {}, false});
  struct TcRow {
    const char* name;
    int prog;
    Bytes frame;
  };
  const int egress = objs->tc_prog_fd(), ingress = objs->tc_ingress_prog_fd();
  const int ceiling = bpf_program__fd(h.t->progs.min_revnat);
  const std::vector<TcRow> rows = {
      {"ceiling: fixed rewrite of source addr:port (min_revnat)", ceiling,
       ReplyFromEndpoint(kTcpAck)},
      {"tc_lb_egress: reply of a VIP flow -> VIP:port", egress, ReplyFromEndpoint(kTcpAck)},
      {"tc_lb_egress: SYN-ACK of a VIP flow -> VIP:port + MSS", egress,
       ReplyFromEndpoint(kTcpSyn | kTcpAck, mss)},
      {"tc_lb_egress: not from an endpoint (left alone)", egress, other},
      {"tc_lb_ingress: no XDP hand-off (left alone)", ingress, other},
  };
  std::vector<std::vector<double>> net(rows.size());
  std::vector<double> harness;
  std::vector<uint32_t> verdicts(rows.size());
  for (auto _ : state) {
    for (int round = 0; round < Rounds(); ++round) {
      for (size_t i = 0; i < rows.size(); ++i) {
        h.SetFrame(rows[i].frame);
        if (i == 0) {
          h.SetTarget(-1);
          harness.push_back(h.Run(rows[i].frame, kRepeat).first);
        }
        h.SetTarget(rows[i].prog);
        auto [ns, v] = h.Run(rows[i].frame, kRepeat);
        net[i].push_back(ns - harness.back());
        verdicts[i] = v;
      }
    }
  }
  const Stat hs = Summarize(harness);
  const double ceiling_ns = Summarize(net[0]).median;
  std::printf("\ntc programs\n  %-56s %8s  %-17s  verdict\n", "path", "net ns",
              "range over rounds");
  std::printf("  %-56s %8.1f  [%6.1f, %6.1f]  (harness alone, %d rounds)\n", "harness", hs.median,
              hs.min, hs.max, Rounds());
  for (size_t i = 0; i < rows.size(); ++i) {
    const Stat s = Summarize(net[i]);
    std::printf("  %-56s %8.1f  [%6.1f, %6.1f]  %u", rows[i].name, s.median, s.min, s.max,
                verdicts[i]);
    if (i) std::printf("   %.2fx ceiling", s.median / ceiling_ns);
    std::printf("\n");
  }
  std::fflush(stdout);
}
BENCHMARK(BM_TcPath)->Iterations(1)->Unit(benchmark::kMillisecond);

// Programming N services of 3 endpoints each (Maglev tables built by the sync, as in the agent)
// into real, unpinned maps, from empty; then the no-op re-sync a restarted agent does.
void BM_MapSync(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  dataplane::DesiredDataplane d;
  for (int i = 0; i < n; ++i) {
    dataplane::DesiredService s;
    s.vip = IPAddr::V4(0xc6336400u + static_cast<uint32_t>(i / 100));  // 198.51.100.0 + i/100
    s.port = static_cast<uint16_t>(1000 + i % 100);
    for (int b = 0; b < 3; ++b)
      s.backends.push_back({IPAddr::V4(0x0a000000u + static_cast<uint32_t>(i * 3 + b)), 8080, false,
                            1, std::nullopt});
    d.services.push_back(std::move(s));
  }
  for (auto _ : state) {
    state.PauseTiming();
    auto objs = dataplane::BpfObjects::OpenAndLoad({});
    std::map<dataplane::MapId, int> fds;
    for (auto m :
         {dataplane::MapId::kServices, dataplane::MapId::kBackends, dataplane::MapId::kMaglev,
          dataplane::MapId::kConntrack, dataplane::MapId::kEndpoints, dataplane::MapId::kL2,
          dataplane::MapId::kIfaces, dataplane::MapId::kNode, dataplane::MapId::kVipAddrs,
          dataplane::MapId::kServiceKeys})
      fds[m] = objs->map_fd(dataplane::MapName(m));
    dataplane::BpfMapOps ops(fds);
    dataplane::MapSync sync(ops);
    state.ResumeTiming();
    sync.Apply(d);
    state.PauseTiming();
    auto t0 = std::chrono::steady_clock::now();
    dataplane::MapSync restarted(ops);
    restarted.Apply(d);
    state.counters["restart_resync_s"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_MapSync)->Arg(1000)->Arg(10000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  if (unshare(CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "dp_xdp_bench: needs root (private network namespace)\n");
    return 1;
  }
  try {
    SetUpNetwork();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dp_xdp_bench: %s\n", e.what());
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
