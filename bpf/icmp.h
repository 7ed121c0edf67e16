// ICMP the program sends itself: "fragmentation needed" (RFC 792, RFC 1191) and "packet too big"
// (RFC 4443) to a client whose packet no longer fits once encapsulated towards the endpoint's node.
// The message comes from the VIP (the address the client's path MTU cache is about), quotes the
// start of the offending packet, and goes back out of the interface the packet came in on. Also
// the layout of IPv4 errors about VIP flows and their translation for the endpoint (icmp_vip.h).
#pragma once

#include <linux/bpf.h>
#include <linux/icmpv6.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum.h"
#include "lb_maps.h"
#include "nat.h"
#include "parse.h"

// How much of the offending packet is quoted: its IP header with options at most (60) and more
// than the 8 bytes RFC 792 asks for (TCP's handler wants ports and sequence number). A constant
// keeps the checksum a fixed-size sum; a packet too big to encapsulate is always longer.
#define ICMP4_QUOTE 88
#define ICMP6_QUOTE 96
#define ICMP_TOO_BIG_TTL 64

// RFC 792 / RFC 1191 destination unreachable, "fragmentation needed and DF set" (linux/icmp.h
// pulls in libc headers a BPF object cannot have).
#define ICMP4_DEST_UNREACH 3
#define ICMP4_FRAG_NEEDED 4

struct icmp4_too_big {
  __u8 type;
  __u8 code;
  __sum16 checksum;
  __be16 unused;
  __be16 mtu;  // next-hop MTU
};

struct icmp_pseudo6 {
  __be32 src[4];
  __be32 dst[4];
  __be32 len;
  __be32 nexthdr;
};

// Turns the frame (an untagged IPv4 packet at offset 14 that is too big for `mtu` bytes) into
// the ICMP error for its sender, and returns XDP_TX; XDP_DROP when the frame cannot be reshaped.
static __always_inline int icmp4_frag_needed(struct xdp_md *ctx, __u16 mtu,
                                             enum lb_reason *reason) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)ip + ICMP4_QUOTE > data_end) return XDP_DROP;
  struct ethhdr saved = *eth;
  const __be32 client = ip->saddr, vip = ip->daddr;
  const int head = sizeof(struct iphdr) + sizeof(struct icmp4_too_big);
  if (bpf_xdp_adjust_head(ctx, -head)) return XDP_DROP;
  data = (void *)(long)ctx->data;
  data_end = (void *)(long)ctx->data_end;
  const int keep = sizeof(struct ethhdr) + head + ICMP4_QUOTE;
  if (bpf_xdp_adjust_tail(ctx, keep - (int)(data_end - data))) return XDP_DROP;
  data = (void *)(long)ctx->data;
  data_end = (void *)(long)ctx->data_end;
  eth = data;
  struct iphdr *out = (void *)(eth + 1);
  struct icmp4_too_big *icmp = (void *)(out + 1);
  if ((void *)icmp + sizeof(*icmp) + ICMP4_QUOTE > data_end) return XDP_DROP;
  __builtin_memcpy(eth->h_dest, saved.h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, saved.h_dest, ETH_ALEN);
  eth->h_proto = bpf_htons(ETH_P_IP);
  out->version = 4;
  out->ihl = IPV4_IHL_MIN;
  out->tos = 0;
  out->tot_len = bpf_htons(head + ICMP4_QUOTE);
  out->id = 0;
  out->frag_off = 0;
  out->ttl = ICMP_TOO_BIG_TTL;
  out->protocol = IPPROTO_ICMP;
  out->check = 0;
  out->saddr = vip;
  out->daddr = client;
  out->check = csum_ipv4_header(out);
  icmp->type = ICMP4_DEST_UNREACH;
  icmp->code = ICMP4_FRAG_NEEDED;
  icmp->checksum = 0;
  icmp->unused = 0;
  icmp->mtu = bpf_htons(mtu);
  __s64 sum = bpf_csum_diff(0, 0, (__be32 *)icmp, sizeof(*icmp) + ICMP4_QUOTE, 0);
  if (sum < 0) return XDP_DROP;
  icmp->checksum = csum_fold((__u32)sum);
  *reason = LB_R_TX_ICMP_TOO_BIG;
  return XDP_TX;
}

// The same for an untagged IPv6 packet at offset 14.
static __always_inline int icmp6_packet_too_big(struct xdp_md *ctx, __u32 mtu,
                                                enum lb_reason *reason) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  struct ipv6hdr *ip6 = (void *)(eth + 1);
  if ((void *)ip6 + ICMP6_QUOTE > data_end) return XDP_DROP;
  struct ethhdr saved = *eth;
  struct icmp_pseudo6 ph = {};
  __builtin_memcpy(ph.src, ip6->daddr.in6_u.u6_addr32, sizeof(ph.src));  // the VIP answers
  __builtin_memcpy(ph.dst, ip6->saddr.in6_u.u6_addr32, sizeof(ph.dst));
  const int head = sizeof(struct ipv6hdr) + sizeof(struct icmp6hdr);
  ph.len = bpf_htonl(sizeof(struct icmp6hdr) + ICMP6_QUOTE);
  ph.nexthdr = bpf_htonl(IPPROTO_ICMPV6);
  if (bpf_xdp_adjust_head(ctx, -head)) return XDP_DROP;
  data = (void *)(long)ctx->data;
  data_end = (void *)(long)ctx->data_end;
  const int keep = sizeof(struct ethhdr) + head + ICMP6_QUOTE;
  if (bpf_xdp_adjust_tail(ctx, keep - (int)(data_end - data))) return XDP_DROP;
  data = (void *)(long)ctx->data;
  data_end = (void *)(long)ctx->data_end;
  eth = data;
  struct ipv6hdr *out = (void *)(eth + 1);
  struct icmp6hdr *icmp = (void *)(out + 1);
  if ((void *)icmp + sizeof(*icmp) + ICMP6_QUOTE > data_end) return XDP_DROP;
  __builtin_memcpy(eth->h_dest, saved.h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, saved.h_dest, ETH_ALEN);
  eth->h_proto = bpf_htons(ETH_P_IPV6);
  *(__be32 *)out = bpf_htonl(0x60000000);
  out->payload_len = bpf_htons(sizeof(struct icmp6hdr) + ICMP6_QUOTE);
  out->nexthdr = IPPROTO_ICMPV6;
  out->hop_limit = ICMP_TOO_BIG_TTL;
  __builtin_memcpy(out->saddr.in6_u.u6_addr32, ph.src, sizeof(ph.src));
  __builtin_memcpy(out->daddr.in6_u.u6_addr32, ph.dst, sizeof(ph.dst));
  icmp->icmp6_type = ICMPV6_PKT_TOOBIG;
  icmp->icmp6_code = 0;
  icmp->icmp6_cksum = 0;
  icmp->icmp6_mtu = bpf_htonl(mtu);
  __s64 sum = bpf_csum_diff(0, 0, (__be32 *)&ph, sizeof(ph), 0);
  if (sum < 0) return XDP_DROP;
  sum = bpf_csum_diff(0, 0, (__be32 *)icmp, sizeof(*icmp) + ICMP6_QUOTE, (__u32)sum);
  if (sum < 0) return XDP_DROP;
  icmp->icmp6_cksum = csum_fold((__u32)sum);
  *reason = LB_R_TX_ICMP_TOO_BIG;
  return XDP_TX;
}

// Type, code, checksum, then 4 bytes that depend on the type (echo id/sequence, next-hop MTU).
struct icmp4_hdr {
  __u8 type;
  __u8 code;
  __sum16 checksum;
  __be32 rest;
};

// An error quoting a packet the VIP sent: its IP header (no options: endpoints' replies have
// none) and the first 8 bytes of TCP/UDP, which hold the ports.
struct icmp4_error {
  struct icmp4_hdr icmp;
  struct iphdr quoted;
  struct l4_ports quoted_ports;
};

// The flow (client -> VIP:port) an error's quoted reply belongs to; 0 if it quotes no VIP flow.
static __always_inline int icmp4_error_flow(const struct iphdr *ip, const struct icmp4_error *e,
                                            struct lb_ct_key *flow) {
  if (e->quoted.version != 4 || e->quoted.ihl != IPV4_IHL_MIN || e->quoted.saddr != ip->daddr)
    return 0;
  if (e->quoted.protocol != IPPROTO_TCP && e->quoted.protocol != IPPROTO_UDP) return 0;
  flow->src[0] = e->quoted.daddr;
  flow->dst[0] = e->quoted.saddr;
  flow->sport = e->quoted_ports.dest;
  flow->dport = e->quoted_ports.source;
  flow->proto = e->quoted.protocol;
  flow->family = LB_FAMILY_V4;
  return 1;
}

// Rewrites the error for the endpoint: outer destination, quoted source address and port, and
// the three checksums that cover them (outer IP header, quoted IP header, ICMP).
static __always_inline void icmp4_error_dnat(struct iphdr *ip, struct icmp4_error *e,
                                             __be32 endpoint, __be16 endpoint_port) {
  const __be32 vip = ip->daddr;
  csum_replace(&ip->check, &vip, &endpoint, sizeof(vip));
  ip->daddr = endpoint;
  const __u16 old_check = e->quoted.check;
  csum_replace(&e->quoted.check, &vip, &endpoint, sizeof(vip));
  const __u16 new_check = e->quoted.check;
  const __be16 old_port = e->quoted_ports.source;
  __u16 *sum = &e->icmp.checksum;
  csum_replace(sum, &vip, &endpoint, sizeof(vip));
  csum_replace(sum, &old_check, &new_check, sizeof(old_check));
  csum_replace(sum, &old_port, &endpoint_port, sizeof(old_port));
  e->quoted.saddr = endpoint;
  e->quoted_ports.source = endpoint_port;
}

// The same for ICMPv6 errors (RFC 4443: destination unreachable 1, packet too big 2, time
// exceeded 3) quoting a reply of a VIP flow with no extension headers.
struct icmp6_error {
  struct icmp6hdr icmp;
  struct ipv6hdr quoted;
  struct l4_ports quoted_ports;
};

static __always_inline int icmp6_is_error(__u8 type) {
  return type == ICMPV6_DEST_UNREACH || type == ICMPV6_PKT_TOOBIG || type == ICMPV6_TIME_EXCEED;
}

static __always_inline int icmp6_error_flow(const struct ipv6hdr *ip6, const struct icmp6_error *e,
                                            struct lb_ct_key *flow) {
  const __be32 *vip = ip6->daddr.in6_u.u6_addr32, *q = e->quoted.saddr.in6_u.u6_addr32;
  if (e->quoted.version != 6 || q[0] != vip[0] || q[1] != vip[1] || q[2] != vip[2] ||
      q[3] != vip[3])
    return 0;
  if (e->quoted.nexthdr != IPPROTO_TCP && e->quoted.nexthdr != IPPROTO_UDP) return 0;
  __builtin_memcpy(flow->src, e->quoted.daddr.in6_u.u6_addr32, sizeof(flow->src));
  __builtin_memcpy(flow->dst, q, sizeof(flow->dst));
  flow->sport = e->quoted_ports.dest;
  flow->dport = e->quoted_ports.source;
  flow->proto = e->quoted.nexthdr;
  flow->family = LB_FAMILY_V6;
  return 1;
}

// Outer destination and quoted source address and port become the endpoint's; the ICMPv6
// checksum covers all three (the outer address through the pseudo-header).
static __always_inline void icmp6_error_dnat(struct ipv6hdr *ip6, struct icmp6_error *e,
                                             const __be32 endpoint[4], __be16 endpoint_port) {
  __be32 vip[4];
  __builtin_memcpy(vip, ip6->daddr.in6_u.u6_addr32, sizeof(vip));
  __u16 *sum = (__u16 *)&e->icmp.icmp6_cksum;
  csum_replace(sum, vip, endpoint, sizeof(vip));  // pseudo-header destination
  csum_replace(sum, vip, endpoint, sizeof(vip));  // quoted source
  const __be16 old_port = e->quoted_ports.source;
  csum_replace(sum, &old_port, &endpoint_port, sizeof(old_port));
  __builtin_memcpy(ip6->daddr.in6_u.u6_addr32, endpoint, sizeof(vip));
  __builtin_memcpy(e->quoted.saddr.in6_u.u6_addr32, endpoint, sizeof(vip));
  e->quoted_ports.source = endpoint_port;
}
