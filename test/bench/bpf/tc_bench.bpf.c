// Benchmark-only tc programs (dp_xdp_bench's tc paths), not part of the product.
//
// tc_harness: BPF_PROG_TEST_RUN's `repeat` runs one skb again and again without restoring it, so a
// program that rewrites the frame (tc_lb_egress's reverse NAT) would measure another path from the
// second run on. The harness writes the original frame back from tc_bench_frame, then tail-calls
// the program under test in tc_bench_progs[0]; with the slot empty it returns TC_ACT_OK: its own
// cost, reported beside every measurement.
//
// min_revnat: the local ceiling for reverse NAT in tc -- one fixed source address:port rewrite
// with the kernel's checksum helpers, as tc_lb_egress does, without finding the flow.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define TC_BENCH_FRAME_MAX 128

struct tc_bench_frame {
  __u32 len;  // bytes of data used, the test run's input length
  __u32 pad;
  __u8 data[TC_BENCH_FRAME_MAX];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct tc_bench_frame);
} tc_bench_frame SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} tc_bench_progs SEC(".maps");

SEC("tc")
int tc_harness(struct __sk_buff *skb) {
  __u32 zero = 0;
  struct tc_bench_frame *f = bpf_map_lookup_elem(&tc_bench_frame, &zero);
  if (!f) return TC_ACT_SHOT;
  __u32 len = f->len;
  if (len == 0 || len > TC_BENCH_FRAME_MAX || len != skb->len) return TC_ACT_SHOT;
  if (bpf_skb_store_bytes(skb, 0, f->data, len, 0)) return TC_ACT_SHOT;
  bpf_tail_call(skb, &tc_bench_progs, 0);
  return TC_ACT_OK;
}

// The reply's source becomes 198.51.100.10:80 (IPv4 TCP without options, no VLAN).
SEC("tc")
int min_revnat(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data;
  void *data_end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  struct iphdr *ip = (void *)(eth + 1);
  struct tcphdr *tcp = (void *)(ip + 1);
  if ((void *)(tcp + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
      ip->protocol != IPPROTO_TCP)
    return TC_ACT_OK;
  const __be32 old_addr = ip->saddr, new_addr = bpf_htonl(0xc633640a);
  const __be16 old_port = tcp->source, new_port = bpf_htons(80);
  const __u32 ip_off = sizeof(*eth), tcp_off = ip_off + sizeof(*ip);
  bpf_l4_csum_replace(skb, tcp_off + offsetof(struct tcphdr, check), old_addr, new_addr,
                      BPF_F_PSEUDO_HDR | sizeof(new_addr));
  bpf_l3_csum_replace(skb, ip_off + offsetof(struct iphdr, check), old_addr, new_addr,
                      sizeof(new_addr));
  bpf_l4_csum_replace(skb, tcp_off + offsetof(struct tcphdr, check), old_port, new_port,
                      sizeof(new_port));
  bpf_skb_store_bytes(skb, ip_off + offsetof(struct iphdr, saddr), &new_addr, sizeof(new_addr), 0);
  bpf_skb_store_bytes(skb, tcp_off + offsetof(struct tcphdr, source), &new_port, sizeof(new_port),
                      0);
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
