// Fragments of VIP datagrams, IPv4 and IPv6: the first fragment is balanced like any packet (it
// has the ports) and leaves its endpoint in lb_frags under the datagram's identification (IPv4's
// 16-bit header field, IPv6's 32-bit Fragment header field, with source, destination and
// protocol); the later fragments, which have no ports, follow it there: DNAT of the address alone
// (their bytes are not covered by the L4 checksum the first fragment's DNAT updated), or the same
// tunnel. A later fragment that arrives before its first one is dropped (counted as
// drop_fragment): nothing says where it belongs, and the kernel could only route it back towards
// the VIP. The sender's reassembly timer then gives up on the datagram, as it would on a loss.
#pragma once

#include <linux/bpf.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum.h"
#include "encap.h"
#include "forward.h"
#include "lb_bpf_maps.h"
#include "parse.h"
#include "select.h"

static __always_inline void frag4_key(struct lb_frag_key *k, const struct iphdr *ip) {
  k->src[0] = ip->saddr;
  k->dst[0] = ip->daddr;
  k->id = ip->id;
  k->proto = ip->protocol;
  k->family = LB_FAMILY_V4;
}

static __always_inline void frag4_remember(const struct iphdr *ip, __u32 backend_id) {
  struct lb_frag_key k = {};
  frag4_key(&k, ip);
  struct lb_frag_value v = {.backend_id = backend_id};
  bpf_map_update_elem(&lb_frags, &k, &v, BPF_ANY);
}

// A later fragment (offset > 0): to its datagram's endpoint, or to the kernel when the datagram
// is not a VIP's; dropped when it is a VIP's but its first fragment was not seen (the kernel
// could only send it back towards the VIP's route).
static __always_inline int frag4_follow(struct xdp_md *ctx, struct l2 *l2, struct iphdr *ip,
                                        enum lb_reason *reason) {
  struct lb_frag_key k = {};
  frag4_key(&k, ip);
  struct lb_frag_value *f = bpf_map_lookup_elem(&lb_frags, &k);
  if (!f) {
    if (!vip_addr4(ip->daddr)) {
      *reason = LB_R_PASS_UNSUPPORTED;
      return XDP_PASS;
    }
    *reason = LB_R_DROP_FRAGMENT;
    return XDP_DROP;
  }
  const __u32 backend_id = f->backend_id;
  struct lb_backend *b = backend_get(backend_id);
  if (!b || b->family != LB_FAMILY_V4) {
    *reason = LB_R_DROP_BAD_BACKEND;
    return XDP_DROP;
  }
  if (ip->ttl <= 1) {
    *reason = LB_R_PASS_TTL;
    return XDP_PASS;
  }
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  lb_count(&lb_backend_stats, backend_id, data_end - data);
  if (b->action == LB_ACTION_ENCAP) {
    // The outer source port from addresses and protocol alone: every later fragment alike.
    struct lb_ct_key flow = {};
    flow.src[0] = ip->saddr;
    flow.dst[0] = ip->daddr;
    flow.proto = ip->protocol;
    flow.family = LB_FAMILY_V4;
    return encap4(ctx, l2, bpf_ntohs(ip->tot_len), ip->tos, (ip->frag_off & bpf_htons(IP_DF)) != 0,
                  &flow, b, reason);
  }
  dnat4_addr(ip, b->addr[0]);
  return forward4(ctx, l2, ip, ip->protocol, backend_id, bpf_ktime_get_coarse_ns(), reason);
}

static __always_inline void frag6_key(struct lb_frag_key *k, const struct ipv6hdr *ip6,
                                      const struct ipv6_frag_hdr *fh) {
  __builtin_memcpy(k->src, ip6->saddr.in6_u.u6_addr32, sizeof(k->src));
  __builtin_memcpy(k->dst, ip6->daddr.in6_u.u6_addr32, sizeof(k->dst));
  k->id = fh->id;
  k->proto = fh->nexthdr;
  k->family = LB_FAMILY_V6;
}

// Only a first fragment with more to come is remembered: an atomic fragment (RFC 6946: offset 0,
// M clear) is the whole datagram.
static __always_inline void frag6_remember(const struct ipv6hdr *ip6,
                                           const struct ipv6_frag_hdr *fh, __u32 backend_id) {
  if (!(fh->frag_off & bpf_htons(IP6_MF))) return;
  struct lb_frag_key k = {};
  frag6_key(&k, ip6, fh);
  struct lb_frag_value v = {.backend_id = backend_id};
  bpf_map_update_elem(&lb_frags, &k, &v, BPF_ANY);
}

// A later IPv6 fragment (offset > 0, its Fragment header right after the IPv6 header), as
// frag4_follow. IPv6 has no header checksum: the address is all that changes.
static __always_inline int frag6_follow(struct xdp_md *ctx, struct l2 *l2, struct ipv6hdr *ip6,
                                        const struct ipv6_frag_hdr *fh, enum lb_reason *reason) {
  struct lb_frag_key k = {};
  frag6_key(&k, ip6, fh);
  struct lb_frag_value *f = bpf_map_lookup_elem(&lb_frags, &k);
  if (!f) {
    if (!vip_addr6(ip6->daddr.in6_u.u6_addr32)) {
      *reason = LB_R_PASS_UNSUPPORTED;
      return XDP_PASS;
    }
    *reason = LB_R_DROP_FRAGMENT;
    return XDP_DROP;
  }
  const __u32 backend_id = f->backend_id;
  struct lb_backend *b = backend_get(backend_id);
  if (!b || b->family != LB_FAMILY_V6) {
    *reason = LB_R_DROP_BAD_BACKEND;
    return XDP_DROP;
  }
  if (ip6->hop_limit <= 1) {
    *reason = LB_R_PASS_TTL;
    return XDP_PASS;
  }
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  lb_count(&lb_backend_stats, backend_id, data_end - data);
  const __u8 proto = fh->nexthdr;
  if (b->action == LB_ACTION_ENCAP) {
    struct lb_ct_key flow = {};
    __builtin_memcpy(flow.src, ip6->saddr.in6_u.u6_addr32, sizeof(flow.src));
    __builtin_memcpy(flow.dst, ip6->daddr.in6_u.u6_addr32, sizeof(flow.dst));
    flow.proto = proto;
    flow.family = LB_FAMILY_V6;
    return encap6(ctx, l2, bpf_ntohs(ip6->payload_len) + sizeof(*ip6), &flow, b, reason);
  }
  __builtin_memcpy(ip6->daddr.in6_u.u6_addr32, b->addr, sizeof(b->addr));
  return forward6(ctx, l2, ip6, proto, backend_id, bpf_ktime_get_coarse_ns(), reason);
}
