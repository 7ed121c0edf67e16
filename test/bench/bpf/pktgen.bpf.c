// The forwarding-rate benchmark's traffic generator and sink, not part of the product.
// `pktgen` runs under BPF_PROG_TEST_RUN with live frames (xdp-trafficgen does not work on this
// kernel): every run writes the template frame and turns it into the next of `flows` flows --
// source address and port -- and transmits it with XDP_TX. The whole frame is written each time:
// the page pool recycles frames without resetting them, and the node under test rewrites the very
// page it received (addresses, ports, TTL, checksums) before it comes back to the pool.
// `sink` counts and drops what reaches an endpoint, so the endpoints cost the same in every mode.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum16.h"
#include "pktgen.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pktgen_config);
} pktgen_config SEC(".maps");

// pktgen: frames generated; sink: frames counted.
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} pktgen_count SEC(".maps");

SEC("xdp")
int pktgen(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  if (data + PKTGEN_FRAME_LEN > data_end) return XDP_ABORTED;
  struct ethhdr *eth = data;
  struct iphdr *ip = (void *)(eth + 1);
  struct tcphdr *tcp = (void *)(ip + 1);
  __u32 zero = 0;
  struct pktgen_config *c = bpf_map_lookup_elem(&pktgen_config, &zero);
  __u64 *n = bpf_map_lookup_elem(&pktgen_count, &zero);
  if (!c || !n || c->flows == 0 || c->ports_per_ip == 0) return XDP_ABORTED;
  __builtin_memcpy(data, c->frame, PKTGEN_FRAME_LEN);
  __u32 flow = (__u32)(*n % c->flows);
  (*n)++;
  __be32 saddr = bpf_htonl(bpf_ntohl(c->saddr_base) + flow / c->ports_per_ip);
  __be16 sport = bpf_htons(c->sport_base + flow % c->ports_per_ip);
  ip->saddr = saddr;
  ip->check = csum32_update(c->ip_check, c->saddr_base, saddr);
  tcp->source = sport;  // the source port sits at the same offset in UDP
  if (c->proto == IPPROTO_TCP) {
    __u16 l4 = csum32_update(c->l4_check, c->saddr_base, saddr);
    tcp->check = csum16_update(l4, bpf_htons(c->sport_base), sport);
  }
  return XDP_TX;
}

SEC("xdp")
int sink(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return XDP_PASS;
  // ARP and NDP pass: the node's kernel must still resolve the endpoint in the kernel's modes.
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  __u32 zero = 0;
  __u64 *n = bpf_map_lookup_elem(&pktgen_count, &zero);
  if (n) (*n)++;
  return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
