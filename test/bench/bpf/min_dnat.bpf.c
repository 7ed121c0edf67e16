// The local ceiling for ironlb's benchmarks, not part of the product: the least an XDP program
// must do to load-balance IPv4 TCP/UDP -- match one VIP:port, pick one of a few endpoints by a
// cheap hash of the client, rewrite destination address and port with incremental checksum
// updates (RFC 1624), decrement the TTL, write fixed MACs and redirect. No conntrack, no route
// lookup, no counters, no IPv6: whatever ironlb costs above this is the price of its features.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum16.h"
#include "min_dnat.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct min_dnat_config);
} min_dnat_config SEC(".maps");

SEC("xdp")
int min_dnat(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5)
    return XDP_PASS;
  __be16 *ports = (void *)(ip + 1);
  if ((void *)(ports + 2) > data_end) return XDP_PASS;
  __u32 zero = 0;
  struct min_dnat_config *c = bpf_map_lookup_elem(&min_dnat_config, &zero);
  if (!c || ip->daddr != c->vip || ports[1] != c->vip_port || ip->protocol != c->proto ||
      c->count == 0 || ip->ttl <= 1)
    return XDP_PASS;
  __u32 i = (ip->saddr ^ ports[0]) % c->count;
  if (i >= MIN_DNAT_MAX_ENDPOINTS) return XDP_PASS;
  struct min_dnat_endpoint *e = &c->endpoints[i];

  __u16 *l4_check;
  if (ip->protocol == IPPROTO_TCP) {
    struct tcphdr *tcp = (void *)ports;
    if ((void *)(tcp + 1) > data_end) return XDP_PASS;
    l4_check = &tcp->check;
  } else {
    struct udphdr *udp = (void *)ports;
    if ((void *)(udp + 1) > data_end) return XDP_PASS;
    l4_check = &udp->check;
  }
  __u16 l4 = csum32_update(*l4_check, ip->daddr, e->addr);
  *l4_check = csum16_update(l4, ports[1], e->port);
  __u16 ttl_from = *(__u16 *)&ip->ttl;
  ip->ttl--;
  ip->check = csum32_update(ip->check, ip->daddr, e->addr);
  ip->check = csum16_update(ip->check, ttl_from, *(__u16 *)&ip->ttl);
  ip->daddr = e->addr;
  ports[1] = e->port;
  __builtin_memcpy(eth->h_dest, e->mac, ETH_ALEN);
  __builtin_memcpy(eth->h_source, c->src_mac, ETH_ALEN);
  return bpf_redirect(e->ifindex, 0);
}



// Control for peers that encapsulate (Katran's IPIP): grows the frame by an IPv4 header's worth
// at the front and sends it back, so the cost of bpf_xdp_adjust_head -- and of the harness moving
// the head back before the next run -- can be told apart from the peer's own work.
SEC("xdp")
int adjust_head_control(struct xdp_md *ctx) {
  if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr))) return XDP_ABORTED;
  return XDP_TX;
}
char LICENSE[] SEC("license") = "Dual BSD/GPL";
