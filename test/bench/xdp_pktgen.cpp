// Traffic generator, sink and minimal-DNAT loader for the forwarding-rate benchmark
// (forward_rate_bench.py): frames at line rate from BPF_PROG_TEST_RUN with live frames.
//   xdp_pktgen gen DEV SRC_MAC DST_MAC SRC DST DPORT udp|tcp FLOWS SECONDS
//   xdp_pktgen sink DEV           (counts and drops IPv4 at DEV; prints the count per stdin line)
//   xdp_pktgen mindnat DEV VIP PORT udp|tcp SRC_MAC EP_IP,EP_PORT,EP_MAC,EP_DEV ...
//       (MINDNAT_VARIANT=ct|ct4|fc: with a per-flow record, see min_dnat.bpf.c; MINDNAT_FC_SETS:
//       the fc variant's cache sets per CPU, a power of two, 65536 unless given)
// The attaching commands hold their program until stdin closes, then detach it.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "min_dnat.h"
#include "min_dnat.skel.h"
#include "pktgen.h"
#include "pktgen.skel.h"

namespace {

constexpr size_t kFrameLen = PKTGEN_FRAME_LEN;

void ParseMac(const std::string& s, uint8_t out[6]) {
  unsigned b[6];
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
    throw std::runtime_error("not a MAC address: " + s);
  for (int i = 0; i < 6; ++i) out[i] = static_cast<uint8_t>(b[i]);
}

uint32_t ParseIp(const std::string& s) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) throw std::runtime_error("not an IPv4 address: " + s);
  return a.s_addr;
}

unsigned Ifindex(const std::string& dev) {
  unsigned i = if_nametoindex(dev.c_str());
  if (i == 0) throw std::runtime_error("no such interface: " + dev);
  return i;
}

uint8_t ParseProto(const std::string& s) {
  if (s == "udp") return IPPROTO_UDP;
  if (s == "tcp") return IPPROTO_TCP;
  throw std::runtime_error("protocol is udp or tcp, not " + s);
}

// One's-complement sum folded to 16 bits over big-endian words.
uint16_t Checksum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += (p[i] << 8) | p[i + 1];
  if (n & 1) sum += p[n - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons(static_cast<uint16_t>(~sum));
}

void Attach(int prog_fd, unsigned ifindex) {
  if (int err = bpf_xdp_attach(static_cast<int>(ifindex), prog_fd, XDP_FLAGS_DRV_MODE, nullptr))
    throw std::runtime_error("cannot attach XDP: " + std::string(std::strerror(-err)));
}

// Serves until stdin closes; each line asks for `count()`.
template <typename F>
void HoldUntilEof(F count) {
  std::cout << "ready" << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) std::cout << count() << std::endl;
}

uint64_t SumPerCpu(int map_fd) {
  int cpus = libbpf_num_possible_cpus();
  std::vector<uint64_t> v(static_cast<size_t>(cpus));
  uint32_t zero = 0;
  if (bpf_map_lookup_elem(map_fd, &zero, v.data())) return 0;
  uint64_t total = 0;
  for (auto x : v) total += x;
  return total;
}

int Generate(const std::vector<std::string>& a) {
  if (a.size() != 9)
    throw std::runtime_error("gen DEV SRC_MAC DST_MAC SRC DST DPORT PROTO FLOWS SECONDS");
  unsigned ifindex = Ifindex(a[0]);
  uint8_t frame[kFrameLen] = {};
  ParseMac(a[2], frame);
  ParseMac(a[1], frame + 6);
  frame[12] = 0x08;  // IPv4
  uint8_t* ip = frame + 14;
  uint8_t proto = ParseProto(a[6]);
  size_t l4_len = kFrameLen - 14 - 20;
  ip[0] = 0x45;
  ip[2] = 0;
  ip[3] = static_cast<uint8_t>(20 + l4_len);
  ip[6] = 0x40;  // DF
  ip[8] = 64;
  ip[9] = proto;
  uint32_t src = ParseIp(a[3]), dst = ParseIp(a[4]);
  std::memcpy(ip + 12, &src, 4);
  std::memcpy(ip + 16, &dst, 4);
  uint16_t ip_check = Checksum(ip, 20);
  std::memcpy(ip + 10, &ip_check, 2);
  uint8_t* l4 = ip + 20;
  uint16_t sport = 10000, dport = static_cast<uint16_t>(std::stoi(a[5]));
  l4[0] = sport >> 8;
  l4[1] = sport & 0xff;
  l4[2] = dport >> 8;
  l4[3] = dport & 0xff;
  uint16_t l4_check = 0;
  if (proto == IPPROTO_TCP) {
    l4[12] = 5 << 4;  // header length; the rest of the frame is payload
    l4[13] = 0x10;    // ACK: mid-flow packets of established connections
    l4[14] = 0xff;
    l4[15] = 0xff;
    uint32_t pseudo = 0;
    for (int i = 12; i < 20; i += 2) pseudo += (ip[i] << 8) | ip[i + 1];
    pseudo += proto + static_cast<uint32_t>(l4_len);
    l4_check = Checksum(l4, l4_len, pseudo);
    std::memcpy(l4 + 16, &l4_check, 2);
  } else {
    l4[4] = 0;
    l4[5] = static_cast<uint8_t>(l4_len);  // UDP checksum 0: none
  }

  auto* skel = pktgen::open_and_load();
  if (!skel) throw std::runtime_error("cannot load pktgen.bpf.o");
  pktgen_config cfg{};
  cfg.flows = static_cast<uint32_t>(std::stoul(a[7]));
  cfg.ports_per_ip = 50000;
  cfg.saddr_base = src;
  cfg.sport_base = sport;
  cfg.ip_check = ip_check;
  cfg.l4_check = l4_check;
  cfg.proto = proto;
  std::memcpy(cfg.frame, frame, kFrameLen);
  uint32_t zero = 0;
  bpf_map_update_elem(bpf_map__fd(skel->maps.pktgen_config), &zero, &cfg, BPF_ANY);

  xdp_md ctx{};
  ctx.data_end = kFrameLen;
  ctx.ingress_ifindex = ifindex;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = kFrameLen, .ctx_in = &ctx,
              .ctx_size_in = sizeof(ctx), .repeat = 1 << 16, .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
              .batch_size = 64);
  double seconds = std::stod(a[8]);
  auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  int prog = bpf_program__fd(skel->progs.pktgen);
  while (elapsed < seconds) {
    if (int err = bpf_prog_test_run_opts(prog, &opts)) {
      pktgen::destroy(skel);
      throw std::runtime_error("BPF_PROG_TEST_RUN (live frames): " +
                               std::string(std::strerror(-err)));
    }
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  uint64_t sent = SumPerCpu(bpf_map__fd(skel->maps.pktgen_count));
  std::cout << sent << " " << elapsed << std::endl;
  pktgen::destroy(skel);
  return 0;
}

int Sink(const std::vector<std::string>& a) {
  if (a.size() != 1) throw std::runtime_error("sink DEV");
  unsigned ifindex = Ifindex(a[0]);
  auto* skel = pktgen::open_and_load();
  if (!skel) throw std::runtime_error("cannot load pktgen.bpf.o");
  Attach(bpf_program__fd(skel->progs.sink), ifindex);
  HoldUntilEof([&] { return SumPerCpu(bpf_map__fd(skel->maps.pktgen_count)); });
  bpf_xdp_detach(static_cast<int>(ifindex), XDP_FLAGS_DRV_MODE, nullptr);
  pktgen::destroy(skel);
  return 0;
}

int MinDnat(const std::vector<std::string>& a) {
  if (a.size() < 6 || a.size() > 5 + MIN_DNAT_MAX_ENDPOINTS)
    throw std::runtime_error("mindnat DEV VIP PORT PROTO SRC_MAC EP_IP,EP_PORT,EP_MAC,EP_DEV...");
  unsigned ifindex = Ifindex(a[0]);
  min_dnat_config cfg{};
  cfg.vip = ParseIp(a[1]);
  cfg.vip_port = htons(static_cast<uint16_t>(std::stoi(a[2])));
  cfg.proto = ParseProto(a[3]);
  ParseMac(a[4], cfg.src_mac);
  for (size_t i = 5; i < a.size(); ++i) {
    std::vector<std::string> f;
    size_t pos = 0, comma;
    while ((comma = a[i].find(',', pos)) != std::string::npos) {
      f.push_back(a[i].substr(pos, comma - pos));
      pos = comma + 1;
    }
    f.push_back(a[i].substr(pos));
    if (f.size() != 4) throw std::runtime_error("endpoint is IP,PORT,MAC,DEV: " + a[i]);
    auto& e = cfg.endpoints[cfg.count++];
    e.addr = ParseIp(f[0]);
    e.port = htons(static_cast<uint16_t>(std::stoi(f[1])));
    ParseMac(f[2], e.mac);
    e.ifindex = Ifindex(f[3]);
  }
  // The variant: plain (stateless), ct (an LRU record per flow), fc (a per-CPU cache before it).
  const char* env = std::getenv("MINDNAT_VARIANT");
  const std::string variant = env ? env : "plain";
  auto* skel = min_dnat::open();
  if (!skel) throw std::runtime_error("cannot open min_dnat.bpf.o");
  const char* sets_env = std::getenv("MINDNAT_FC_SETS");
  // Only the fc variant needs its cache: 64 bytes a set, per CPU.
  uint32_t sets = variant != "fc" ? 1
                  : sets_env      ? static_cast<uint32_t>(std::stoul(sets_env))
                                  : 65536;
  if (sets & (sets - 1)) throw std::runtime_error("MINDNAT_FC_SETS must be a power of two");
  skel->rodata->min_fc_sets_per_cpu = sets;
  bpf_map__set_max_entries(skel->maps.min_fc,
                           sets * static_cast<uint32_t>(libbpf_num_possible_cpus()));
  if (min_dnat::load(skel)) throw std::runtime_error("cannot load min_dnat.bpf.o");
  uint32_t zero = 0;
  bpf_map_update_elem(bpf_map__fd(skel->maps.min_dnat_config), &zero, &cfg, BPF_ANY);
  bpf_program* prog = variant == "ct"    ? skel->progs.min_dnat_ct
                      : variant == "ct4" ? skel->progs.min_dnat_ct4
                      : variant == "fc"  ? skel->progs.min_dnat_fc
                                         : skel->progs.min_dnat;
  Attach(bpf_program__fd(prog), ifindex);
  HoldUntilEof([] { return 0; });
  bpf_xdp_detach(static_cast<int>(ifindex), XDP_FLAGS_DRV_MODE, nullptr);
  min_dnat::destroy(skel);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.empty()) throw std::runtime_error("usage: xdp_pktgen gen|sink|mindnat ...");
    std::string cmd = args.front();
    args.erase(args.begin());
    if (cmd == "gen") return Generate(args);
    if (cmd == "sink") return Sink(args);
    if (cmd == "mindnat") return MinDnat(args);
    throw std::runtime_error("unknown command " + cmd);
  } catch (const std::exception& e) {
    std::cerr << "xdp_pktgen: " << e.what() << std::endl;
    return 1;
  }
}
