// Delivery of a DNAT'ed frame: take next hop and egress interface from the agent's next-hop table
// (nexthop.h) or else ask the kernel's FIB, and redirect there, skipping the kernel's stack;
// whenever the FIB cannot say (no neighbour entry yet, local delivery, policy, MTU) the frame goes
// up to the kernel, which forwards it the slow way.
#pragma once

#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#include "lb_maps.h"
#include "nat.h"
#include "nexthop.h"
#include "parse.h"

#define AF_INET 2
#define AF_INET6 10

static __always_inline int fib_redirect(struct xdp_md *ctx, struct ethhdr *eth,
                                        struct bpf_fib_lookup *fib, enum lb_reason *reason) {
  fib->ifindex = ctx->ingress_ifindex;
  long rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
  if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
    *reason = LB_R_FWD_KERNEL;
    return XDP_PASS;
  }
  __builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
  __builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
  *reason = LB_R_FWD_REDIRECT;
  return bpf_redirect(fib->ifindex, 0);
}

static __always_inline int nexthop_redirect(struct ethhdr *eth, const struct lb_nexthop *nh,
                                            enum lb_reason *reason) {
  __builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
  __builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
  *reason = LB_R_FWD_REDIRECT;
  return bpf_redirect(nh->ifindex, 0);
}

static __always_inline int forward4(struct xdp_md *ctx, struct l2 *l2, struct iphdr *ip,
                                    __u8 proto, __u32 backend_id, __u64 now,
                                    enum lb_reason *reason) {
  // A tagged frame arrived on a VLAN the FIB knows by the VLAN device, which XDP cannot
  // redirect to: the kernel's VLAN device takes it from here.
  if (l2->vlan) {
    *reason = LB_R_FWD_KERNEL;
    return XDP_PASS;
  }
  __u32 len = bpf_ntohs(ip->tot_len);
  const __be32 dst[4] = {ip->daddr, 0, 0, 0};
  const struct lb_nexthop *nh = nexthop_lookup(backend_id, dst, len, now);
  if (nh) {
    ipv4_decrease_ttl(ip);
    return nexthop_redirect(l2->eth, nh, reason);
  }
  struct bpf_fib_lookup fib = {};
  fib.family = AF_INET;
  fib.tos = ip->tos;
  fib.l4_protocol = proto;
  fib.tot_len = len;
  fib.ipv4_src = ip->saddr;
  fib.ipv4_dst = ip->daddr;
  int verdict = fib_redirect(ctx, l2->eth, &fib, reason);
  if (verdict == XDP_REDIRECT) ipv4_decrease_ttl(ip);
  return verdict;
}

static __always_inline int forward6(struct xdp_md *ctx, struct l2 *l2, struct ipv6hdr *ip6,
                                    __u8 proto, __u32 backend_id, __u64 now,
                                    enum lb_reason *reason) {
  if (l2->vlan) {
    *reason = LB_R_FWD_KERNEL;
    return XDP_PASS;
  }
  __u32 len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
  __be32 dst[4];
  __builtin_memcpy(dst, ip6->daddr.in6_u.u6_addr32, sizeof(dst));
  const struct lb_nexthop *nh = nexthop_lookup(backend_id, dst, len, now);
  if (nh) {
    ip6->hop_limit--;
    return nexthop_redirect(l2->eth, nh, reason);
  }
  struct bpf_fib_lookup fib = {};
  fib.family = AF_INET6;
  fib.l4_protocol = proto;
  fib.tot_len = len;
  __builtin_memcpy(fib.ipv6_src, ip6->saddr.in6_u.u6_addr32, sizeof(fib.ipv6_src));
  __builtin_memcpy(fib.ipv6_dst, ip6->daddr.in6_u.u6_addr32, sizeof(fib.ipv6_dst));
  int verdict = fib_redirect(ctx, l2->eth, &fib, reason);
  if (verdict == XDP_REDIRECT) ip6->hop_limit--;  // IPv6 has no header checksum
  return verdict;
}
