// ironlb's XDP program for a node's uplink. The entry point only dispatches:
//   ARP        -> arp.h    (reply for owned VIPs, silence for others' VIPs, else kernel)
//   IPv6 NDP   -> ndp.h    (Neighbor Advertisement for owned VIPs, silence for others')
//   TCP/UDP to a VIP:port -> select.h (conntrack, else Maglev), then for an endpoint
//                              on this node:    nat.h (DNAT) -> forward.h
//                                               (the agent's next-hop table, nexthop.h, else FIB)
//                              on another node: encap.h (GUE to that node, FIB, TX/redirect;
//                                               next hop unresolved: up to tc_lb_ingress,
//                                               while the agent vouches it is attached)
//   UDP to this node's GUE port -> encap.h (decapsulate, check, conntrack, DNAT, forward.h)
//   ICMP to a VIP         -> icmp_vip.h (echo reply; errors to the flow's endpoint)
//   later fragments       -> frag.h (the endpoint their first fragment went to; IPv4, and IPv6
//                            with the Fragment header first)
//   anything else         -> XDP_PASS, after one hash lookup at most
// Replies from endpoints are translated back to VIP:port by tc_lb.bpf.c on the uplink's egress,
// from their flow's conntrack entry.
#include <linux/bpf.h>
#include <linux/icmpv6.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "arp.h"
#include "encap.h"
#include "forward.h"
#include "frag.h"
#include "icmp_vip.h"
#include "lb_bpf_maps.h"
#include "nat.h"
#include "ndp.h"
#include "parse.h"
#include "select.h"

// Bytes of L4 header a flow needs before it can be NAT'ed.
static __always_inline __u32 l4_header_len(__u8 proto) {
  return proto == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr);
}

// A TCP SYN without ACK: the first packet of a connection.
static __always_inline int tcp_opening(__u8 proto, void *l4, void *data_end) {
  struct tcphdr *tcp = l4;
  return proto == IPPROTO_TCP && (void *)(tcp + 1) <= data_end && tcp->syn && !tcp->ack;
}

// What forwarding needs to know about the chosen backend besides its address.
struct choice {
  __u32 backend_id;
  __u64 now;  // coarse clock, read once per packet
};

// Common tail of both families once the service is known: choose the backend and count.
static __always_inline struct lb_backend *balance(struct lb_ct_key *flow, struct vip_flow *f,
                                                  __u64 bytes, struct choice *c,
                                                  enum lb_reason *reason) {
  lb_count(&lb_vip_stats, f->service_id, bytes);
  __u32 backend_id = 0;
  c->now = f->now ? f->now : bpf_ktime_get_coarse_ns();
  struct lb_backend *b = select_backend(flow, f, c->now, &backend_id, reason);
  if (!b) return 0;
  if (b->family != flow->family) {
    *reason = LB_R_DROP_BAD_BACKEND;
    return 0;
  }
  lb_count(&lb_backend_stats, backend_id, bytes);
  c->backend_id = backend_id;
  return b;
}

static __always_inline int handle_ipv4(struct xdp_md *ctx, struct l2 *l2, enum lb_reason *reason) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct iphdr *ip;
  void *l4;
  if (parse_ipv4(data, data_end, l2->l3_off, &ip, &l4, VIEW_WHOLE_FRAME) != PARSE_OK) {
    *reason = LB_R_DROP_MALFORMED_L3;
    return XDP_DROP;
  }
  if (ip->protocol == IPPROTO_ICMP) return icmp4_handle(ctx, l2, ip, l4, reason);
  if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP) return XDP_PASS;
  // Only the first fragment has ports: it is balanced below, the later ones follow it (frag.h).
  if (ipv4_is_later_fragment(ip)) return frag4_follow(ctx, l2, ip, reason);
  if (ip->protocol == IPPROTO_UDP) {
    struct udphdr *udp = l4;
    if ((void *)(udp + 1) <= data_end && udp->dest == bpf_htons(LB_GUE_PORT) &&
        node_owns4(ip->daddr))
      return decap4(ctx, l2, ip, reason);
  }
  struct l4_ports *ports = l4;
  if ((void *)(ports + 1) > data_end) return XDP_PASS;  // cannot be one of our flows

  struct lb_ct_key flow = {};
  flow.src[0] = ip->saddr;
  flow.dst[0] = ip->daddr;
  flow.sport = ports->source;
  flow.dport = ports->dest;
  flow.proto = ip->protocol;
  flow.family = LB_FAMILY_V4;
  struct vip_flow vf;
  if (!vip_flow_find(&flow, tcp_opening(flow.proto, l4, data_end), &vf)) return XDP_PASS;

  void *ip_end = (void *)ip + bpf_ntohs(ip->tot_len);
  if (l4 + l4_header_len(flow.proto) > ip_end || l4 + sizeof(struct tcphdr) > data_end) {
    // A UDP header is shorter than TCP's; check the room for the one we have.
    if (!(flow.proto == IPPROTO_UDP && l4 + sizeof(struct udphdr) <= ip_end &&
          l4 + sizeof(struct udphdr) <= data_end)) {
      *reason = LB_R_DROP_MALFORMED_L4;
      return XDP_DROP;
    }
  }
  if (ip->ttl <= 1) {
    *reason = LB_R_PASS_TTL;
    return XDP_PASS;
  }
  struct choice c;
  struct lb_backend *b = balance(&flow, &vf, data_end - data, &c, reason);
  if (!b) return XDP_DROP;
  if (ipv4_is_fragment(ip)) frag4_remember(ip, c.backend_id);
  if (b->action == LB_ACTION_ENCAP)
    return encap4(ctx, l2, bpf_ntohs(ip->tot_len), ip->tos, (ip->frag_off & bpf_htons(IP_DF)) != 0,
                  &flow, b, reason);
  if (flow.proto == IPPROTO_TCP) {
    if (l4 + sizeof(struct tcphdr) > data_end) return XDP_DROP;
    dnat4(ip, l4, IPPROTO_TCP, b);
  } else {
    if (l4 + sizeof(struct udphdr) > data_end) return XDP_DROP;
    dnat4(ip, l4, IPPROTO_UDP, b);
  }
  return forward4(ctx, l2, ip, flow.proto, c.backend_id, c.now, reason);
}

static __always_inline int handle_ipv6(struct xdp_md *ctx, struct l2 *l2, enum lb_reason *reason) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ipv6hdr *ip6;
  if (parse_ipv6(data, data_end, l2->l3_off, &ip6, VIEW_WHOLE_FRAME) != PARSE_OK) {
    *reason = LB_R_DROP_MALFORMED_L3;
    return XDP_DROP;
  }
  __u8 nh = ip6->nexthdr;
  if (nh == IPPROTO_ICMPV6) {
    int verdict = ndp_handle(ctx, l2, reason);
    // Not a solicitation ndp.h answers or silences: maybe ping or an error for a VIP.
    if (verdict == XDP_PASS && *reason == LB_R_PASS_ARP_NDP) return icmp6_vip(ctx, l2, reason);
    return verdict;
  }
  void *l4 = ip6 + 1;
  // A fragment: the first one is balanced below with the ports after its Fragment header, the
  // later ones follow it (frag.h).
  struct ipv6_frag_hdr *fh = 0;
  if (nh == IPV6_NEXTHDR_FRAGMENT) {
    fh = l4;
    if ((void *)(fh + 1) > data_end) return XDP_PASS;
    if (fh->nexthdr == IPPROTO_TCP || fh->nexthdr == IPPROTO_UDP) {
      if (ipv6_is_later_fragment(fh)) return frag6_follow(ctx, l2, ip6, fh, reason);
      nh = fh->nexthdr;
      l4 = fh + 1;
    }
  }
  if (nh != IPPROTO_TCP && nh != IPPROTO_UDP) {
    if (ipv6_is_ext_header(nh)) *reason = LB_R_PASS_UNSUPPORTED;
    return XDP_PASS;
  }
  struct l4_ports *ports = l4;
  if ((void *)(ports + 1) > data_end) return XDP_PASS;
  if (!fh && nh == IPPROTO_UDP && ports->dest == bpf_htons(LB_GUE_PORT) &&
      node_owns6(ip6->daddr.in6_u.u6_addr32))
    return decap6(ctx, l2, ip6, reason);

  struct lb_ct_key flow = {};
  __builtin_memcpy(flow.src, ip6->saddr.in6_u.u6_addr32, sizeof(flow.src));
  __builtin_memcpy(flow.dst, ip6->daddr.in6_u.u6_addr32, sizeof(flow.dst));
  flow.sport = ports->source;
  flow.dport = ports->dest;
  flow.proto = nh;
  flow.family = LB_FAMILY_V6;
  struct vip_flow vf;
  if (!vip_flow_find(&flow, tcp_opening(nh, l4, data_end), &vf)) return XDP_PASS;

  __u32 plen = bpf_ntohs(ip6->payload_len);
  if (plen < (fh ? sizeof(*fh) : 0) + l4_header_len(nh)) {
    *reason = LB_R_DROP_MALFORMED_L4;
    return XDP_DROP;
  }
  if (ip6->hop_limit <= 1) {
    *reason = LB_R_PASS_TTL;
    return XDP_PASS;
  }
  struct choice c;
  struct lb_backend *b = balance(&flow, &vf, data_end - data, &c, reason);
  if (!b) return XDP_DROP;
  if (fh) frag6_remember(ip6, fh, c.backend_id);
  if (b->action == LB_ACTION_ENCAP)
    return encap6(ctx, l2, plen + sizeof(struct ipv6hdr), &flow, b, reason);
  if (nh == IPPROTO_TCP) {
    if (l4 + sizeof(struct tcphdr) > data_end) return XDP_DROP;
    dnat6(ip6, l4, IPPROTO_TCP, b);
  } else {
    if (l4 + sizeof(struct udphdr) > data_end) return XDP_DROP;
    dnat6(ip6, l4, IPPROTO_UDP, b);
  }
  return forward6(ctx, l2, ip6, nh, c.backend_id, c.now, reason);
}

// A unicast frame for another host reaches this interface when a switch floods it (a destination
// it has not learned, a bridge whose table aged out during a failover) or the port is
// promiscuous. Forwarding it would put a second copy of the packet next to the one the intended
// host forwards; the kernel drops such frames as PACKET_OTHERHOST, so hand them to it. Without a
// MAC recorded for the interface nothing is judged.
static __always_inline int for_other_host(const struct xdp_md *ctx, const struct l2 *l2) {
  const __u8 *dst = l2->eth->h_dest;
  if (dst[0] & 1) return 0;  // broadcast / multicast: everyone's
  __u32 ifindex = ctx->ingress_ifindex;
  const struct lb_iface *iface = bpf_map_lookup_elem(&lb_ifaces, &ifindex);
  if (!iface) return 0;
  const __u8 *mine = iface->mac;
  return (dst[0] ^ mine[0]) | (dst[1] ^ mine[1]) | (dst[2] ^ mine[2]) | (dst[3] ^ mine[3]) |
         (dst[4] ^ mine[4]) | (dst[5] ^ mine[5]);
}

SEC("xdp")
int xdp_lb(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  __u64 bytes = data_end - data;
  enum lb_reason reason = LB_R_PASS_NOT_VIP;
  int verdict = XDP_PASS;
  struct l2 l2;
  enum parse_result pr = parse_l2(data, data_end, &l2);
  if (pr == PARSE_MALFORMED) {
    reason = LB_R_DROP_MALFORMED_L2;
    verdict = XDP_DROP;
  } else if (pr == PARSE_UNSUPPORTED) {
    reason = LB_R_PASS_UNSUPPORTED;
  } else if (l2.proto == bpf_htons(ETH_P_ARP)) {
    verdict = arp_handle(ctx, &l2, &reason);
  } else if (for_other_host(ctx, &l2)) {
    reason = LB_R_PASS_OTHER_HOST;
  } else if (l2.proto == bpf_htons(ETH_P_IP)) {
    verdict = handle_ipv4(ctx, &l2, &reason);
  } else if (l2.proto == bpf_htons(ETH_P_IPV6)) {
    verdict = handle_ipv6(ctx, &l2, &reason);
  }
  lb_count_reason(reason, bytes);
  return verdict;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
