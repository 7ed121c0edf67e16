// Encapsulated direct server return between nodes. A node that picks an endpoint on another node
// sends it the client's original packet inside GUE (lb_maps.h) addressed to that node; the other
// node strips the outer headers, checks the packet is a VIP flow for one of its own endpoints,
// remembers the flow in its own conntrack (naming its endpoint), DNATs it and delivers it like a
// local one. The reply then leaves that node straight to the client, translated by tc_lb from
// that entry.
//
//   IPv4: Ethernet | IPv4 (20) | UDP (8) | GUE (4) | endpoint addr:port (8)  | inner IPv4 packet
//   IPv6: Ethernet | IPv6 (40) | UDP (8) | GUE (4) | endpoint addr:port (20) | inner IPv6 packet
//
// The outer header is not fragmented (IPv4 DF), carries no UDP checksum (RFC 6935 allows it for
// tunnels over IPv6; the inner packet keeps its own), and copies the inner TOS / traffic class.
#pragma once

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum.h"
#include "flow_hash.h"
#include "conntrack.h"
#include "forward.h"
#include "icmp.h"
#include "lb_bpf_maps.h"
#include "nat.h"
#include "parse.h"
#include "select.h"

#define ENCAP4_OVERHEAD                                                       \
  (sizeof(struct iphdr) + sizeof(struct udphdr) + sizeof(struct lb_gue_hdr) + \
   sizeof(struct lb_gue_priv4))
#define ENCAP6_OVERHEAD                                                         \
  (sizeof(struct ipv6hdr) + sizeof(struct udphdr) + sizeof(struct lb_gue_hdr) + \
   sizeof(struct lb_gue_priv6))
_Static_assert(ENCAP4_OVERHEAD == LB_GUE4_OVERHEAD, "lb_maps.h's GUE overhead (IPv4)");
_Static_assert(ENCAP6_OVERHEAD == LB_GUE6_OVERHEAD, "lb_maps.h's GUE overhead (IPv6)");
#define IPV4_DEFAULT_TTL 64

static __always_inline struct lb_node_addrs *node_addrs(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&lb_node, &zero);
}

// Outer UDP source port: the flow hash folded into the dynamic range, the same for every packet
// of a flow (no reordering) and different across flows (receive-side scaling spreads them).
static __always_inline __be16 encap_sport(const struct lb_ct_key *flow) {
  return bpf_htons(LB_GUE_SPORT_MIN | (lb_flow_hash(flow) & 0x3fff));
}

// The MACs a frame arrived with, kept for one handed to the kernel (encap_resolve).
struct encap_macs {
  __u8 dst[ETH_ALEN];
  __u8 src[ETH_ALEN];
};

static __always_inline void encap_save_macs(const struct ethhdr *eth, struct encap_macs *m) {
  __builtin_memcpy(m->dst, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(m->src, eth->h_source, ETH_ALEN);
}

// The new frame's MACs: the FIB's when the next hop is resolved, else the ones the frame came with
// (this host's as destination, so the kernel takes it as its own until tc sends it on).
static __always_inline void encap_set_macs(struct ethhdr *eth, const struct bpf_fib_lookup *fib,
                                           int resolve, const struct encap_macs *arrived) {
  // Two plain copies: a selected pointer may be compiled into arithmetic the verifier refuses.
  if (resolve) {
    __builtin_memcpy(eth->h_dest, arrived->dst, ETH_ALEN);
    __builtin_memcpy(eth->h_source, arrived->src, ETH_ALEN);
  } else {
    __builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
    __builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
  }
}

// Whether a frame handed up from interface `iif` reaches tc_lb_ingress: only the agent can see the
// hook, and it vouches for it until lb_iface.tc_ingress_until_ns (lb_maps.h). Without it the kernel
// would drop the frame (its destination MAC is this host, its IP destination another node) and the
// loss would be counted as fwd_encap_resolve: an unvouched interface drops it here, by name.
static __always_inline int tc_ingress_vouched(__u32 iif) {
  const struct lb_iface *iface = bpf_map_lookup_elem(&lb_ifaces, &iif);
  return iface && bpf_ktime_get_ns() < iface->tc_ingress_until_ns;
}

// The next hop towards the endpoint's node has no resolved neighbour entry, and XDP cannot queue a
// frame while the kernel asks. The finished frame goes up with the FIB's answer in front (XDP
// metadata, lb_maps.h); tc_lb_ingress sends it with bpf_redirect_neigh, which resolves the entry
// and queues the frame meanwhile, as the kernel's own output does. The agent still keeps these
// entries resolved (node_neighbours.h), so this is the first packets' path, not the usual one.
// A driver that cannot carry metadata leaves the old outcome: dropped, counted as drop_no_neigh.
static __always_inline int encap_resolve(struct xdp_md *ctx, const struct bpf_fib_lookup *fib,
                                         __u32 family, enum lb_reason *reason) {
  if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct lb_xdp_meta))) {
    *reason = LB_R_DROP_NO_NEIGH;
    return XDP_DROP;
  }
  struct lb_xdp_meta *m = (void *)(long)ctx->data_meta;
  if ((void *)(m + 1) > (void *)(long)ctx->data) {
    *reason = LB_R_DROP_NO_NEIGH;
    return XDP_DROP;
  }
  m->magic = LB_META_RESOLVE;
  m->ifindex = fib->ifindex;
  m->family = family;
  __builtin_memcpy(m->nexthop, fib->ipv6_dst, sizeof(m->nexthop));  // ipv4_dst is its first word
  *reason = LB_R_FWD_ENCAP_RESOLVE;
  return XDP_PASS;
}

static __always_inline int encap_send(struct xdp_md *ctx, const struct bpf_fib_lookup *fib,
                                      __u32 iif, int resolve, __u32 family,
                                      enum lb_reason *reason) {
  if (resolve) return encap_resolve(ctx, fib, family, reason);
  *reason = LB_R_FWD_ENCAP;
  // Back out of the interface it came in on (the usual one-armed node): XDP_TX skips the redirect.
  if (fib->ifindex == iif) return XDP_TX;
  return bpf_redirect(fib->ifindex, 0);
}

// Sends the untouched client packet (at l2->l3_off, `inner_len` bytes of IPv4) to the endpoint's
// node. The route is asked before the frame grows, so a failure leaves the packet as it was; one
// that no longer fits gets "fragmentation needed" when it may not be fragmented (DF), as any
// router on the path would send (the outer header cannot be fragmented here), else it is dropped.
static __always_inline int encap4(struct xdp_md *ctx, struct l2 *l2, __u32 inner_len, __u8 tos,
                                  int df, const struct lb_ct_key *flow, const struct lb_backend *b,
                                  enum lb_reason *reason) {
  struct lb_node_addrs *node = node_addrs();
  if (l2->vlan || !node || !node->v4) {
    *reason = LB_R_DROP_ENCAP;
    return XDP_DROP;
  }
  const __u32 outer_len = inner_len + ENCAP4_OVERHEAD;
  const __be32 saddr = node->v4, daddr = b->tunnel[0], endpoint = b->addr[0];
  const __be16 endpoint_port = b->port, sport = encap_sport(flow);
  const __u32 iif = ctx->ingress_ifindex;
  struct bpf_fib_lookup fib = {};
  fib.family = AF_INET;
  fib.tos = tos;
  fib.l4_protocol = IPPROTO_UDP;
  fib.sport = sport;
  fib.dport = bpf_htons(LB_GUE_PORT);
  fib.tot_len = outer_len;
  fib.ipv4_src = saddr;
  fib.ipv4_dst = daddr;
  fib.ifindex = iif;
  long rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
  if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED && df && fib.mtu_result > ENCAP4_OVERHEAD)
    return icmp4_frag_needed(ctx, fib.mtu_result - ENCAP4_OVERHEAD, reason);
  const int resolve = rc == BPF_FIB_LKUP_RET_NO_NEIGH;
  if (rc != BPF_FIB_LKUP_RET_SUCCESS && !resolve) {
    *reason = LB_R_DROP_ENCAP;
    return XDP_DROP;
  }
  if (resolve && !tc_ingress_vouched(iif)) {
    *reason = LB_R_DROP_NO_TC_INGRESS;
    return XDP_DROP;
  }
  struct encap_macs arrived;
  encap_save_macs(l2->eth, &arrived);
  if (bpf_xdp_adjust_head(ctx, -(int)ENCAP4_OVERHEAD)) {
    *reason = LB_R_DROP_ENCAP;
    return XDP_DROP;
  }
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  struct iphdr *outer = (void *)(eth + 1);
  struct udphdr *udp = (void *)(outer + 1);
  struct lb_gue_hdr *gue = (void *)(udp + 1);
  struct lb_gue_priv4 *priv = (void *)(gue + 1);
  if ((void *)(priv + 1) > data_end) return XDP_DROP;
  encap_set_macs(eth, &fib, resolve, &arrived);
  eth->h_proto = bpf_htons(ETH_P_IP);
  outer->version = 4;
  outer->ihl = IPV4_IHL_MIN;
  outer->tos = tos;
  outer->tot_len = bpf_htons(outer_len);
  outer->id = 0;
  outer->frag_off = bpf_htons(IP_DF);
  outer->ttl = IPV4_DEFAULT_TTL;
  outer->protocol = IPPROTO_UDP;
  outer->check = 0;
  outer->saddr = saddr;
  outer->daddr = daddr;
  outer->check = csum_ipv4_header(outer);
  udp->source = sport;
  udp->dest = bpf_htons(LB_GUE_PORT);
  udp->len = bpf_htons(outer_len - sizeof(struct iphdr));
  udp->check = 0;
  gue->hlen = sizeof(*priv) / 4;
  gue->proto = IPPROTO_IPIP;
  gue->flags = 0;
  priv->endpoint = endpoint;
  priv->port = endpoint_port;
  priv->pad[0] = priv->pad[1] = 0;
  return encap_send(ctx, &fib, iif, resolve, AF_INET, reason);
}

static __always_inline int encap6(struct xdp_md *ctx, struct l2 *l2, __u32 inner_len,
                                  const struct lb_ct_key *flow, const struct lb_backend *b,
                                  enum lb_reason *reason) {
  struct lb_node_addrs *node = node_addrs();
  if (l2->vlan || !node || !(node->v6[0] | node->v6[1] | node->v6[2] | node->v6[3])) {
    *reason = LB_R_DROP_ENCAP;
    return XDP_DROP;
  }
  const __u32 outer_len = inner_len + ENCAP6_OVERHEAD;
  const __be16 endpoint_port = b->port, sport = encap_sport(flow);
  const __u32 iif = ctx->ingress_ifindex;
  struct bpf_fib_lookup fib = {};
  fib.family = AF_INET6;
  fib.l4_protocol = IPPROTO_UDP;
  fib.sport = sport;
  fib.dport = bpf_htons(LB_GUE_PORT);
  fib.tot_len = outer_len;
  __builtin_memcpy(fib.ipv6_src, node->v6, sizeof(fib.ipv6_src));
  __builtin_memcpy(fib.ipv6_dst, b->tunnel, sizeof(fib.ipv6_dst));
  fib.ifindex = iif;
  __be32 endpoint[4], src[4], dst[4];
  __builtin_memcpy(endpoint, b->addr, sizeof(endpoint));
  __builtin_memcpy(src, node->v6, sizeof(src));
  __builtin_memcpy(dst, b->tunnel, sizeof(dst));
  long rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
  if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED && fib.mtu_result > ENCAP6_OVERHEAD)
    return icmp6_packet_too_big(ctx, fib.mtu_result - ENCAP6_OVERHEAD, reason);
  const int resolve = rc == BPF_FIB_LKUP_RET_NO_NEIGH;
  if (rc != BPF_FIB_LKUP_RET_SUCCESS && !resolve) {
    *reason = LB_R_DROP_ENCAP;
    return XDP_DROP;
  }
  if (resolve && !tc_ingress_vouched(iif)) {
    *reason = LB_R_DROP_NO_TC_INGRESS;
    return XDP_DROP;
  }
  struct encap_macs arrived;
  encap_save_macs(l2->eth, &arrived);
  if (bpf_xdp_adjust_head(ctx, -(int)ENCAP6_OVERHEAD)) {
    *reason = LB_R_DROP_ENCAP;
    return XDP_DROP;
  }
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  struct ipv6hdr *outer = (void *)(eth + 1);
  struct udphdr *udp = (void *)(outer + 1);
  struct lb_gue_hdr *gue = (void *)(udp + 1);
  struct lb_gue_priv6 *priv = (void *)(gue + 1);
  struct ipv6hdr *inner = (void *)(priv + 1);
  if ((void *)(inner + 1) > data_end) return XDP_DROP;
  encap_set_macs(eth, &fib, resolve, &arrived);
  eth->h_proto = bpf_htons(ETH_P_IPV6);
  // Version, the inner traffic class, flow label 0.
  *(__be32 *)outer = (*(__be32 *)inner & bpf_htonl(0x0ff00000)) | bpf_htonl(0x60000000);
  outer->payload_len = bpf_htons(outer_len - sizeof(struct ipv6hdr));
  outer->nexthdr = IPPROTO_UDP;
  outer->hop_limit = IPV4_DEFAULT_TTL;
  __builtin_memcpy(outer->saddr.in6_u.u6_addr32, src, sizeof(src));
  __builtin_memcpy(outer->daddr.in6_u.u6_addr32, dst, sizeof(dst));
  udp->source = sport;
  udp->dest = bpf_htons(LB_GUE_PORT);
  udp->len = outer->payload_len;
  udp->check = 0;
  gue->hlen = sizeof(*priv) / 4;
  gue->proto = IPPROTO_IPV6;
  gue->flags = 0;
  __builtin_memcpy(priv->endpoint, endpoint, sizeof(endpoint));
  priv->port = endpoint_port;
  priv->pad[0] = priv->pad[1] = 0;
  return encap_send(ctx, &fib, iif, resolve, AF_INET6, reason);
}

// The endpoint a decapsulated packet is for, if it is one of this node's: its backend id.
static __always_inline struct lb_endpoint_value *local_endpoint(const __be32 addr[4], __be16 port,
                                                                __u8 proto, __u8 family) {
  struct lb_endpoint_key k = {};
  __builtin_memcpy(k.addr, addr, sizeof(k.addr));
  k.port = port;
  k.proto = proto;
  k.family = family;
  return bpf_map_lookup_elem(&lb_endpoints, &k);
}

// Moves the Ethernet header over the outer headers being removed: the frame keeps the MACs it
// arrived with (this node's as destination, so the kernel accepts it when it takes over).
static __always_inline int strip_outer(struct xdp_md *ctx, __u32 overhead, __be16 inner_proto) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return -1;
  struct ethhdr saved = *eth;
  if (bpf_xdp_adjust_head(ctx, (int)overhead)) return -1;
  data = (void *)(long)ctx->data;
  data_end = (void *)(long)ctx->data_end;
  eth = data;
  if ((void *)(eth + 1) > data_end) return -1;
  __builtin_memcpy(eth->h_dest, saved.h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_source, saved.h_source, ETH_ALEN);
  eth->h_proto = inner_proto;
  return 0;
}

// The decapsulated flow in this node's conntrack, naming this node's slot for the endpoint: what
// tc_lb translates its replies from (and what this node uses should ECMP send the flow here
// directly). Read per packet -- through the flow cache for IPv4, whose believable copy naming the
// endpoint stands for conntrack within its second -- written when missing or naming another
// endpoint, under the flood guard like any insert.
static __always_inline void ct_remember_decap(const struct lb_ct_key *flow, __u32 backend_id,
                                              __u32 service_id) {
  const __u64 now = bpf_ktime_get_coarse_ns();
  struct lb_flow_cache_set *set = flow_cache_set(flow);
  __u32 gen = 0;
  if (set) {
    gen = flow_cache_gen();
    const struct lb_flow_cache_entry *e = flow_cache_find(set, flow, now, gen);
    if (e && e->backend_id == backend_id) return;
  }
  struct lb_ct_value *v = ct_lookup(flow, now);
  if (v && v->backend_id == backend_id) {
    if (set) flow_cache_fill(set, flow, backend_id, service_id, now, gen);
    return;
  }
  if (!ct_insert(flow, backend_id, service_id, now))
    lb_count_reason(LB_R_CT_INSERT_SKIPPED, 0);
  else if (v)
    flow_cache_retire_all();  // re-pointed: copies of the old entry must not be believed
}

// What both families share once the outer headers are gone: the packet must be a VIP flow of a
// service this node serves, for an endpoint of this node; then it is remembered, DNAT'ed and
// delivered. `flow` is the inner client -> VIP:port flow.
static __always_inline struct lb_endpoint_value *decap_admit(const struct lb_ct_key *flow,
                                                             const __be32 endpoint[4],
                                                             __be16 endpoint_port, __u64 bytes,
                                                             __u32 *service_id) {
  struct lb_vip_key vk = {};
  __builtin_memcpy(vk.addr, flow->dst, sizeof(vk.addr));
  vk.port = flow->dport;
  vk.proto = flow->proto;
  vk.family = flow->family;
  struct lb_service *svc = bpf_map_lookup_elem(&lb_services, &vk);
  if (!svc) return 0;
  *service_id = svc->id;
  struct lb_endpoint_value *ep = local_endpoint(endpoint, endpoint_port, flow->proto, flow->family);
  if (!ep) return 0;
  lb_count_reason(LB_R_DECAP, bytes);
  lb_count(&lb_backend_stats, ep->backend_id, bytes);
  return ep;
}

// Whether a packet to the GUE port is addressed to this node (else it is ordinary traffic).
static __always_inline int node_owns4(__be32 addr) {
  struct lb_node_addrs *node = node_addrs();
  return node && node->v4 && addr == node->v4;
}

static __always_inline int node_owns6(const __be32 *a) {
  struct lb_node_addrs *node = node_addrs();
  return node && (node->v6[0] | node->v6[1] | node->v6[2] | node->v6[3]) && a[0] == node->v6[0] &&
         a[1] == node->v6[1] && a[2] == node->v6[2] && a[3] == node->v6[3];
}

// A UDP packet to this node's GUE port. Whatever is not a VIP flow for one of its endpoints is
// dropped: no kernel tunnel device exists to take it.
static __always_inline int decap4(struct xdp_md *ctx, struct l2 *l2, struct iphdr *ip,
                                  enum lb_reason *reason) {
  *reason = LB_R_DROP_DECAP;
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  const __u64 bytes = data_end - data;
  if (l2->vlan || ip->ihl != IPV4_IHL_MIN || ipv4_is_fragment(ip)) return XDP_DROP;
  struct udphdr *udp = (void *)(ip + 1);
  struct lb_gue_hdr *gue = (void *)(udp + 1);
  struct lb_gue_priv4 *priv = (void *)(gue + 1);
  // The other nodes' agents keep the kernel's neighbour entry for this node fresh with empty
  // datagrams (node_neighbours.h): expected, not a drop worth counting.
  if ((void *)(udp + 1) <= data_end && udp->len == bpf_htons(sizeof(*udp))) {
    *reason = LB_R_PASS_NOT_VIP;
    return XDP_DROP;
  }
  if ((void *)(priv + 1) > data_end) return XDP_DROP;
  if (gue->hlen != sizeof(*priv) / 4 || gue->proto != IPPROTO_IPIP) return XDP_DROP;
  const __be32 endpoint[4] = {priv->endpoint, 0, 0, 0};
  const __be16 endpoint_port = priv->port;
  if (strip_outer(ctx, ENCAP4_OVERHEAD, bpf_htons(ETH_P_IP))) return XDP_DROP;

  data = (void *)(long)ctx->data;
  data_end = (void *)(long)ctx->data_end;
  struct l2 inner_l2 = {.eth = data, .proto = bpf_htons(ETH_P_IP), .l3_off = sizeof(struct ethhdr)};
  struct iphdr *in;
  void *l4;
  if (parse_ipv4(data, data_end, sizeof(struct ethhdr), &in, &l4, VIEW_WHOLE_FRAME) != PARSE_OK)
    return XDP_DROP;
  const __u8 proto = in->protocol;
  if (proto == IPPROTO_ICMP) {
    // An error about a VIP flow whose endpoint is here (icmp_vip.h sent it on).
    struct icmp4_error *e = l4;
    struct lb_ct_key flow = {};
    __u32 service_id = 0;
    if ((void *)(e + 1) > data_end || ipv4_is_fragment(in) || !icmp4_error_flow(in, e, &flow))
      return XDP_DROP;
    struct lb_endpoint_value *ep = decap_admit(&flow, endpoint, endpoint_port, bytes, &service_id);
    if (!ep) return XDP_DROP;
    const __u32 backend_id = ep->backend_id;
    if (in->ttl <= 1) {
      *reason = LB_R_PASS_TTL;
      return XDP_PASS;
    }
    icmp4_error_dnat(in, e, endpoint[0], endpoint_port);
    return forward4(ctx, &inner_l2, in, IPPROTO_ICMP, backend_id, bpf_ktime_get_coarse_ns(),
                    reason);
  }
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) return XDP_DROP;
  if (ipv4_is_later_fragment(in)) {
    // No ports: the endpoint the sender named, if it is one of ours for a VIP (frag.h).
    struct lb_endpoint_value *ep =
        vip_addr4(in->daddr) ? local_endpoint(endpoint, endpoint_port, proto, LB_FAMILY_V4) : 0;
    if (!ep) return XDP_DROP;
    const __u32 backend_id = ep->backend_id;
    lb_count_reason(LB_R_DECAP, bytes);
    lb_count(&lb_backend_stats, backend_id, bytes);
    if (in->ttl <= 1) {
      *reason = LB_R_PASS_TTL;
      return XDP_PASS;
    }
    dnat4_addr(in, endpoint[0]);
    return forward4(ctx, &inner_l2, in, proto, backend_id, bpf_ktime_get_coarse_ns(), reason);
  }
  if (l4 + (proto == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr)) >
      (void *)in + bpf_ntohs(in->tot_len))
    return XDP_DROP;
  struct l4_ports *ports = l4;
  if ((void *)(ports + 1) > data_end) return XDP_DROP;
  struct lb_ct_key flow = {};
  __u32 service_id = 0;
  flow.src[0] = in->saddr;
  flow.dst[0] = in->daddr;
  flow.sport = ports->source;
  flow.dport = ports->dest;
  flow.proto = proto;
  flow.family = LB_FAMILY_V4;
  struct lb_endpoint_value *ep = decap_admit(&flow, endpoint, endpoint_port, bytes, &service_id);
  if (!ep) return XDP_DROP;
  const __u32 backend_id = ep->backend_id;
  if (in->ttl <= 1) {
    *reason = LB_R_PASS_TTL;
    return XDP_PASS;
  }
  ct_remember_decap(&flow, backend_id, service_id);
  struct lb_backend b = {};
  b.addr[0] = endpoint[0];
  b.port = endpoint_port;
  if (proto == IPPROTO_TCP) {
    if (l4 + sizeof(struct tcphdr) > data_end) return XDP_DROP;
    dnat4(in, l4, IPPROTO_TCP, &b);
  } else {
    if (l4 + sizeof(struct udphdr) > data_end) return XDP_DROP;
    dnat4(in, l4, IPPROTO_UDP, &b);
  }
  return forward4(ctx, &inner_l2, in, proto, backend_id, bpf_ktime_get_coarse_ns(), reason);
}

// A later fragment of an IPv6 datagram, decapsulated: no ports, so the endpoint the sending node
// named, if it is one of this node's for a VIP (as decap4's later IPv4 fragments).
static __always_inline int decap6_later_fragment(struct xdp_md *ctx, struct l2 *inner_l2,
                                                 struct ipv6hdr *in, __u8 proto,
                                                 const __be32 endpoint[4], __be16 endpoint_port,
                                                 __u64 bytes, enum lb_reason *reason) {
  struct lb_endpoint_value *ep = vip_addr6(in->daddr.in6_u.u6_addr32)
                                     ? local_endpoint(endpoint, endpoint_port, proto, LB_FAMILY_V6)
                                     : 0;
  if (!ep) return XDP_DROP;
  const __u32 backend_id = ep->backend_id;
  lb_count_reason(LB_R_DECAP, bytes);
  lb_count(&lb_backend_stats, backend_id, bytes);
  if (in->hop_limit <= 1) {
    *reason = LB_R_PASS_TTL;
    return XDP_PASS;
  }
  __builtin_memcpy(in->daddr.in6_u.u6_addr32, endpoint, 4 * sizeof(__be32));
  return forward6(ctx, inner_l2, in, proto, backend_id, bpf_ktime_get_coarse_ns(), reason);
}

static __always_inline int decap6(struct xdp_md *ctx, struct l2 *l2, struct ipv6hdr *ip6,
                                  enum lb_reason *reason) {
  *reason = LB_R_DROP_DECAP;
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  const __u64 bytes = data_end - data;
  if (l2->vlan) return XDP_DROP;
  struct udphdr *udp = (void *)(ip6 + 1);
  struct lb_gue_hdr *gue = (void *)(udp + 1);
  struct lb_gue_priv6 *priv = (void *)(gue + 1);
  if ((void *)(udp + 1) <= data_end && udp->len == bpf_htons(sizeof(*udp))) {
    *reason = LB_R_PASS_NOT_VIP;  // a neighbour probe, as in decap4
    return XDP_DROP;
  }
  if ((void *)(priv + 1) > data_end) return XDP_DROP;
  if (gue->hlen != sizeof(*priv) / 4 || gue->proto != IPPROTO_IPV6) return XDP_DROP;
  __be32 endpoint[4];
  __builtin_memcpy(endpoint, priv->endpoint, sizeof(endpoint));
  const __be16 endpoint_port = priv->port;
  if (strip_outer(ctx, ENCAP6_OVERHEAD, bpf_htons(ETH_P_IPV6))) return XDP_DROP;

  data = (void *)(long)ctx->data;
  data_end = (void *)(long)ctx->data_end;
  struct l2 inner_l2 = {
      .eth = data, .proto = bpf_htons(ETH_P_IPV6), .l3_off = sizeof(struct ethhdr)};
  struct ipv6hdr *in;
  if (parse_ipv6(data, data_end, sizeof(struct ethhdr), &in, VIEW_WHOLE_FRAME) != PARSE_OK)
    return XDP_DROP;
  const __u8 proto = in->nexthdr;
  if (proto == IPPROTO_ICMPV6) {
    // An error about a VIP flow whose endpoint is here (icmp_vip.h sent it on).
    struct icmp6_error *e = (void *)(in + 1);
    struct lb_ct_key flow = {};
    __u32 service_id = 0;
    if ((void *)(e + 1) > data_end || !icmp6_is_error(e->icmp.icmp6_type) ||
        !icmp6_error_flow(in, e, &flow))
      return XDP_DROP;
    struct lb_endpoint_value *ep = decap_admit(&flow, endpoint, endpoint_port, bytes, &service_id);
    if (!ep) return XDP_DROP;
    const __u32 backend_id = ep->backend_id;
    if (in->hop_limit <= 1) {
      *reason = LB_R_PASS_TTL;
      return XDP_PASS;
    }
    icmp6_error_dnat(in, e, endpoint, endpoint_port);
    return forward6(ctx, &inner_l2, in, IPPROTO_ICMPV6, backend_id, bpf_ktime_get_coarse_ns(),
                    reason);
  }
  void *l4 = in + 1;
  __u8 l4_proto = proto;
  __u32 ext_len = 0;
  if (proto == IPV6_NEXTHDR_FRAGMENT) {
    struct ipv6_frag_hdr *fh = l4;
    if ((void *)(fh + 1) > data_end) return XDP_DROP;
    l4_proto = fh->nexthdr;
    if (l4_proto != IPPROTO_TCP && l4_proto != IPPROTO_UDP) return XDP_DROP;
    if (ipv6_is_later_fragment(fh))
      return decap6_later_fragment(ctx, &inner_l2, in, l4_proto, endpoint, endpoint_port, bytes,
                                   reason);
    l4 = fh + 1;
    ext_len = sizeof(*fh);
  }
  if (l4_proto != IPPROTO_TCP && l4_proto != IPPROTO_UDP) return XDP_DROP;
  if (bpf_ntohs(in->payload_len) <
      ext_len + (l4_proto == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr)))
    return XDP_DROP;
  struct l4_ports *ports = l4;
  if ((void *)(ports + 1) > data_end) return XDP_DROP;
  struct lb_ct_key flow = {};
  __u32 service_id = 0;
  __builtin_memcpy(flow.src, in->saddr.in6_u.u6_addr32, sizeof(flow.src));
  __builtin_memcpy(flow.dst, in->daddr.in6_u.u6_addr32, sizeof(flow.dst));
  flow.sport = ports->source;
  flow.dport = ports->dest;
  flow.proto = l4_proto;
  flow.family = LB_FAMILY_V6;
  struct lb_endpoint_value *ep = decap_admit(&flow, endpoint, endpoint_port, bytes, &service_id);
  if (!ep) return XDP_DROP;
  const __u32 backend_id = ep->backend_id;
  if (in->hop_limit <= 1) {
    *reason = LB_R_PASS_TTL;
    return XDP_PASS;
  }
  ct_remember_decap(&flow, backend_id, service_id);
  struct lb_backend b = {};
  __builtin_memcpy(b.addr, endpoint, sizeof(b.addr));
  b.port = endpoint_port;
  if (l4_proto == IPPROTO_TCP) {
    if (l4 + sizeof(struct tcphdr) > data_end) return XDP_DROP;
    dnat6(in, l4, IPPROTO_TCP, &b);
  } else {
    if (l4 + sizeof(struct udphdr) > data_end) return XDP_DROP;
    dnat6(in, l4, IPPROTO_UDP, &b);
  }
  return forward6(ctx, &inner_l2, in, l4_proto, backend_id, bpf_ktime_get_coarse_ns(), reason);
}
