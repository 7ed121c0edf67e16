// Data plane costs, measured in the kernel with BPF_PROG_TEST_RUN inside a private network
// namespace: ns per packet of xdp_lb's paths (pass-through, ARP reply, NDP advert, conntrack hit,
// new flow) through bench_harness -- which restores the frame before every run -- reported beside
// the harness's own cost (harness + trivial XDP_TX) from the same iterations; and MapSync's time
// to program 10,000 services into real maps.
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>

#include <cstring>
#include <limits>

#include "../bpf/packet_builder.h"
#include "bench_harness.skel.h"
#include "dataplane/bpf_objects.h"
#include "dataplane/map_layout.h"
#include "dataplane/map_ops.h"
#include "dataplane/map_sync.h"

namespace {

using namespace ironlb;
using namespace ironlb::testpkt;

constexpr int kRepeat = 200000;
constexpr uint32_t kLoopback = 1;
const Mac kClientMac = {2, 0, 0, 0, 0, 1}, kNodeMac = {2, 0, 0, 0, 0, 0xaa};
const Mac kBroadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, kZero = {};

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

// xdp_lb with one service (3 backends), an owned VIP and the loopback MAC, plus the harness.
struct Rig {
  std::unique_ptr<dataplane::BpfObjects> lb;
  bench_harness* h = nullptr;

  explicit Rig(uint64_t max_inserts) {
    dataplane::LoadOptions o;
    o.max_ct_inserts_per_sec = max_inserts;
    lb = dataplane::BpfObjects::OpenAndLoad(o);
    h = bench_harness::open_and_load();
    if (!h) throw std::runtime_error("cannot load bench_harness");
    const IPAddr vip = Addr("198.51.100.10");
    for (uint32_t id = 1; id <= 3; ++id) {
      lb_backend b{};
      FillAddr(b.addr, Addr("10.1.0." + std::to_string(id)));
      b.port = htons(8080);
      b.family = LB_FAMILY_V4;
      b.action = LB_ACTION_LOCAL;
      bpf_map_update_elem(lb->map_fd(LB_MAP_BACKENDS), &id, &b, BPF_ANY);
    }
    for (uint32_t i = 0; i < 251; ++i) {
      uint32_t id = 1 + i % 3;
      bpf_map_update_elem(lb->map_fd(LB_MAP_MAGLEV), &i, &id, BPF_ANY);
    }
    lb_vip_key k{};
    FillAddr(k.addr, vip);
    k.port = htons(80);
    k.proto = kProtoTCP;
    k.family = LB_FAMILY_V4;
    lb_service s{1, 0, 3, 0, 251, 0};
    bpf_map_update_elem(lb->map_fd(LB_MAP_SERVICES), &k, &s, BPF_ANY);
    for (const IPAddr& a : {vip, Addr("2001:db8:100::10")}) {
      lb_l2_key lk{};
      FillAddr(lk.addr, a);
      lk.ifindex = kLoopback;
      lk.family = a.is_v4() ? LB_FAMILY_V4 : LB_FAMILY_V6;
      lb_l2_value lv{LB_L2_OWNED};
      bpf_map_update_elem(lb->map_fd(LB_MAP_L2), &lk, &lv, BPF_ANY);
    }
    lb_iface mac{};
    std::memcpy(mac.mac, kNodeMac.data(), 6);
    bpf_map_update_elem(lb->map_fd(LB_MAP_IFACES), &kLoopback, &mac, BPF_ANY);
  }
  ~Rig() { bench_harness::destroy(h); }

  void SetFrame(const Bytes& f, uint32_t vary_off) {
    BenchFrame bf{};
    bf.len = static_cast<uint32_t>(f.size());
    bf.vary_off = vary_off;
    std::memcpy(bf.data, f.data(), f.size());
    uint32_t zero = 0;
    bpf_map_update_elem(bpf_map__fd(h->maps.bench_frame), &zero, &bf, BPF_ANY);
  }
  void SetTarget(bool lb_prog) {
    uint32_t zero = 0;
    int fd = lb->xdp_prog_fd();
    if (lb_prog)
      bpf_map_update_elem(bpf_map__fd(h->maps.bench_progs), &zero, &fd, BPF_ANY);
    else
      bpf_map_delete_elem(bpf_map__fd(h->maps.bench_progs), &zero);
  }
  // Average ns per run over kRepeat runs, and the last verdict.
  std::pair<double, uint32_t> Run(const Bytes& f) {
    Bytes out(f.size() + 256);
    xdp_md ctx{};
    ctx.data_end = static_cast<uint32_t>(f.size());
    ctx.ingress_ifindex = kLoopback;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f.data(), .data_out = out.data(),
                .data_size_in = static_cast<uint32_t>(f.size()),
                .data_size_out = static_cast<uint32_t>(out.size()), .ctx_in = &ctx,
                .ctx_size_in = sizeof(ctx), .repeat = kRepeat);
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
Bytes TcpToVip() {
  return L4Frame(kNodeMac, kClientMac, Addr("192.0.2.10"), Addr("198.51.100.10"),
                 {kProtoTCP, 40000, 80, kTcpAck, Bytes(16, 'x'), false});
}
constexpr uint32_t kTcpSourcePortOffset = 14 + 20;

enum Path { kPass, kArp, kNdp, kCtHit, kNewFlow };

void BM_XdpPath(benchmark::State& state) {
  const auto path = static_cast<Path>(state.range(0));
  Rig rig(path == kNewFlow ? std::numeric_limits<uint64_t>::max() : 1000000);
  Bytes frame = path == kPass  ? PassThrough()
                : path == kArp ? ArpRequest()
                : path == kNdp ? NeighborSolicit()
                               : TcpToVip();
  rig.SetFrame(frame, path == kNewFlow ? kTcpSourcePortOffset : 0);
  double prog_ns = 0, harness_ns = 0;
  uint32_t verdict = 0;
  for (auto _ : state) {
    rig.SetTarget(false);
    harness_ns += rig.Run(frame).first;
    rig.SetTarget(true);
    auto [ns, v] = rig.Run(frame);
    prog_ns += ns;
    verdict = v;
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["ns_per_pkt"] = prog_ns / n;
  state.counters["harness_ns"] = harness_ns / n;
  state.counters["net_ns"] = (prog_ns - harness_ns) / n;
  state.counters["verdict"] = verdict;
  state.SetLabel(path == kPass    ? "pass-through"
                 : path == kArp   ? "ARP reply"
                 : path == kNdp   ? "NDP advert"
                 : path == kCtHit ? "conntrack hit"
                                  : "new flow (CT miss + Maglev + insert)");
}
BENCHMARK(BM_XdpPath)->DenseRange(kPass, kNewFlow)->Iterations(20)->Unit(benchmark::kMillisecond);

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
      s.backends.push_back(
          {IPAddr::V4(0x0a000000u + static_cast<uint32_t>(i * 3 + b)), 8080, false, 1});
    d.services.push_back(std::move(s));
  }
  for (auto _ : state) {
    state.PauseTiming();
    auto objs = dataplane::BpfObjects::OpenAndLoad({});
    std::map<dataplane::MapId, int> fds;
    for (auto m : {dataplane::MapId::kServices, dataplane::MapId::kBackends,
                   dataplane::MapId::kMaglev, dataplane::MapId::kConntrack,
                   dataplane::MapId::kRevNat, dataplane::MapId::kL2, dataplane::MapId::kIfaces})
      fds[m] = objs->map_fd(dataplane::MapName(m));
    dataplane::BpfMapOps ops(fds);
    dataplane::MapSync sync(ops);
    state.ResumeTiming();
    sync.Apply(d, {});
    state.PauseTiming();
    auto t0 = std::chrono::steady_clock::now();
    dataplane::MapSync restarted(ops);
    restarted.Apply(d, {});
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
  std::system("ip link set lo up");
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
