// ICMP addressed to a VIP: echo requests are answered by the node itself; errors about a VIP flow
// (a router on the reply path says "fragmentation needed", or "time exceeded") go to that flow's
// endpoint, found from the quoted header -- through the tunnel when the endpoint is on another node
// -- with the quoted VIP:port turned back into the endpoint's address and port, so the endpoint's
// kernel matches it to its socket and path-MTU discovery works through the VIP. IPv4 and IPv6
// (ICMPv6 to a VIP never reaches the NDP code: a VIP is not solicited by these types).
#pragma once

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum.h"
#include "encap.h"
#include "forward.h"
#include "lb_bpf_maps.h"
#include "nat.h"
#include "parse.h"
#include "select.h"

#define ICMP4_ECHO_REPLY 0
#define ICMP4_ECHO_REQUEST 8
#define ICMP4_TIME_EXCEEDED 11
#define ICMP_ECHO_TTL 64

static __always_inline int icmp4_echo_reply(struct xdp_md *ctx, struct l2 *l2, struct iphdr *ip,
                                            struct icmp4_hdr *icmp, enum lb_reason *reason) {
  __u8 mac[ETH_ALEN];
  __builtin_memcpy(mac, l2->eth->h_dest, ETH_ALEN);
  __builtin_memcpy(l2->eth->h_dest, l2->eth->h_source, ETH_ALEN);
  __builtin_memcpy(l2->eth->h_source, mac, ETH_ALEN);
  const __be32 client = ip->saddr;
  ip->saddr = ip->daddr;  // swapping two words leaves the header sum as it was
  ip->daddr = client;
  const __u16 old_ttl = *(__u16 *)&ip->ttl;
  ip->ttl = ICMP_ECHO_TTL;
  const __u16 new_ttl = *(__u16 *)&ip->ttl;
  csum_replace(&ip->check, &old_ttl, &new_ttl, sizeof(old_ttl));
  const __u16 old_type = *(__u16 *)icmp;
  icmp->type = ICMP4_ECHO_REPLY;
  const __u16 new_type = *(__u16 *)icmp;
  csum_replace(&icmp->checksum, &old_type, &new_type, sizeof(old_type));
  *reason = LB_R_TX_ICMP_ECHO_REPLY;
  return XDP_TX;
}

// ICMP to an IPv4 address: XDP_PASS unless it is to a VIP.
static __always_inline int icmp4_handle(struct xdp_md *ctx, struct l2 *l2, struct iphdr *ip,
                                        void *l4, enum lb_reason *reason) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct icmp4_hdr *icmp = l4;
  if ((void *)(icmp + 1) > data_end || ipv4_is_fragment(ip) || !vip_addr4(ip->daddr))
    return XDP_PASS;
  if (icmp->type == ICMP4_ECHO_REQUEST && icmp->code == 0)
    return icmp4_echo_reply(ctx, l2, ip, icmp, reason);
  if (icmp->type != ICMP4_DEST_UNREACH && icmp->type != ICMP4_TIME_EXCEEDED) return XDP_PASS;
  struct icmp4_error *e = l4;
  if ((void *)(e + 1) > data_end) return XDP_PASS;
  struct lb_ct_key flow = {};
  if (!icmp4_error_flow(ip, e, &flow)) return XDP_PASS;
  struct lb_vip_key vk = {};
  vk.addr[0] = flow.dst[0];
  vk.port = flow.dport;
  vk.proto = flow.proto;
  vk.family = LB_FAMILY_V4;
  struct lb_service *svc = bpf_map_lookup_elem(&lb_services, &vk);
  if (!svc) return XDP_PASS;
  const __u64 now = bpf_ktime_get_coarse_ns();
  __u32 backend_id = 0;
  struct lb_backend *b = peek_backend(&flow, svc, &backend_id);
  if (!b || b->family != LB_FAMILY_V4 || ip->ttl <= 1) return XDP_PASS;
  lb_count_reason(LB_R_FWD_ICMP_ERROR, data_end - data);
  if (b->action == LB_ACTION_ENCAP)
    return encap4(ctx, l2, bpf_ntohs(ip->tot_len), ip->tos, 0, &flow, b, reason);
  icmp4_error_dnat(ip, e, b->addr[0], b->port);
  return forward4(ctx, l2, ip, IPPROTO_ICMP, backend_id, now, reason);
}

#define ICMP6_ECHO_TTL 64

// ICMPv6 echo request, packet too big, destination unreachable or time exceeded to a VIP
// (the caller checked the type and the address).
static __always_inline int icmp6_handle(struct xdp_md *ctx, struct l2 *l2, struct ipv6hdr *ip6,
                                        enum lb_reason *reason) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct icmp6hdr *icmp = (void *)(ip6 + 1);
  if ((void *)(icmp + 1) > data_end) return XDP_PASS;
  if (icmp->icmp6_type == ICMPV6_ECHO_REQUEST) {
    if (icmp->icmp6_code != 0) return XDP_PASS;
    __u8 mac[ETH_ALEN];
    __builtin_memcpy(mac, l2->eth->h_dest, ETH_ALEN);
    __builtin_memcpy(l2->eth->h_dest, l2->eth->h_source, ETH_ALEN);
    __builtin_memcpy(l2->eth->h_source, mac, ETH_ALEN);
    __be32 client[4];  // swapping the addresses leaves the pseudo-header sum as it was
    __builtin_memcpy(client, ip6->saddr.in6_u.u6_addr32, sizeof(client));
    __builtin_memcpy(ip6->saddr.in6_u.u6_addr32, ip6->daddr.in6_u.u6_addr32, sizeof(client));
    __builtin_memcpy(ip6->daddr.in6_u.u6_addr32, client, sizeof(client));
    ip6->hop_limit = ICMP6_ECHO_TTL;
    const __u16 old_type = *(__u16 *)icmp;
    icmp->icmp6_type = ICMPV6_ECHO_REPLY;
    const __u16 new_type = *(__u16 *)icmp;
    csum_replace((__u16 *)&icmp->icmp6_cksum, &old_type, &new_type, sizeof(old_type));
    *reason = LB_R_TX_ICMP_ECHO_REPLY;
    return XDP_TX;
  }
  struct icmp6_error *e = (void *)icmp;
  if ((void *)(e + 1) > data_end) return XDP_PASS;
  struct lb_ct_key flow = {};
  if (!icmp6_error_flow(ip6, e, &flow)) return XDP_PASS;
  struct lb_vip_key vk = {};
  __builtin_memcpy(vk.addr, flow.dst, sizeof(vk.addr));
  vk.port = flow.dport;
  vk.proto = flow.proto;
  vk.family = LB_FAMILY_V6;
  struct lb_service *svc = bpf_map_lookup_elem(&lb_services, &vk);
  if (!svc) return XDP_PASS;
  __u32 backend_id = 0;
  struct lb_backend *b = peek_backend(&flow, svc, &backend_id);
  if (!b || b->family != LB_FAMILY_V6 || ip6->hop_limit <= 1) return XDP_PASS;
  lb_count_reason(LB_R_FWD_ICMP_ERROR, data_end - data);
  if (b->action == LB_ACTION_ENCAP)
    return encap6(ctx, l2, bpf_ntohs(ip6->payload_len) + sizeof(*ip6), &flow, b, reason);
  __be32 endpoint[4];
  __builtin_memcpy(endpoint, b->addr, sizeof(endpoint));
  icmp6_error_dnat(ip6, e, endpoint, b->port);
  return forward6(ctx, l2, ip6, IPPROTO_ICMPV6, backend_id, bpf_ktime_get_coarse_ns(), reason);
}

// ICMPv6 that ndp.h left alone: icmp6_handle's when it is to a VIP and of a type it answers or
// sends on, else the kernel's. Pointers are taken afresh (ndp.h may have resized the frame).
static __always_inline int icmp6_vip(struct xdp_md *ctx, struct l2 *l2, enum lb_reason *reason) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ipv6hdr *ip6;
  if (l2->l3_off != sizeof(struct ethhdr) ||
      parse_ipv6(data, data_end, sizeof(struct ethhdr), &ip6, VIEW_WHOLE_FRAME) != PARSE_OK ||
      ip6->nexthdr != IPPROTO_ICMPV6)
    return XDP_PASS;
  struct icmp6hdr *icmp = (void *)(ip6 + 1);
  if ((void *)(icmp + 1) > data_end) return XDP_PASS;
  if (icmp->icmp6_type != ICMPV6_ECHO_REQUEST && !icmp6_is_error(icmp->icmp6_type)) return XDP_PASS;
  if (!vip_addr6(ip6->daddr.in6_u.u6_addr32)) return XDP_PASS;
  struct l2 here = {.eth = data, .proto = l2->proto, .l3_off = sizeof(struct ethhdr)};
  return icmp6_handle(ctx, &here, ip6, reason);
}
