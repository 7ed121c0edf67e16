// NDP (RFC 4861) for owned IPv6 VIPs: a Neighbor Solicitation for one becomes a solicited
// Neighbor Advertisement carrying the interface's MAC (target link-layer address option), with a
// full ICMPv6 checksum, sent back by XDP_TX. Solicitations for VIPs another node owns are dropped.
#pragma once

#include <linux/icmpv6.h>
#include <linux/in.h>
#include <linux/ipv6.h>

#include "csum.h"
#include "l2_owner.h"
#include "parse.h"

#define NDISC_NEIGHBOUR_SOLICITATION 135
#define NDISC_NEIGHBOUR_ADVERTISEMENT 136
#define NDISC_HOP_LIMIT 255           // RFC 4861 7.1.1: anything else did not come from on-link
#define ND_OPT_TARGET_LL_ADDR 2
#define ND_OPT_LEN_ETHER 1            // option length in units of 8 octets
#define NA_FLAG_SOLICITED 0x40        // first octet of the NA flags word
#define NA_FLAG_OVERRIDE 0x20

// Neighbor Solicitation / Advertisement body: ICMPv6 header (flags in the reserved word) + target.
struct nd_msg {
  struct icmp6hdr icmp;
  struct in6_addr target;
};

struct nd_opt_ether {
  __u8 type;
  __u8 len;
  __u8 addr[ETH_ALEN];
};

struct na_frame {
  struct nd_msg msg;
  struct nd_opt_ether opt;
};

// RFC 8200 section 8.1 pseudo-header for the upper-layer checksum.
struct ipv6_pseudo_hdr {
  struct in6_addr src;
  struct in6_addr dst;
  __be32 len;
  __be32 nexthdr;
};

static __always_inline int ipv6_addr_is_unspecified(const struct in6_addr *a) {
  return (a->in6_u.u6_addr32[0] | a->in6_u.u6_addr32[1] | a->in6_u.u6_addr32[2] |
          a->in6_u.u6_addr32[3]) == 0;
}

// Called for ICMPv6 frames; returns a verdict and sets *reason. The NA replaces the NS in place,
// the frame resized to exactly Ethernet (+tag) + IPv6 + NA + one option.
static __always_inline int ndp_handle(struct xdp_md *ctx, struct l2 *l2, enum lb_reason *reason) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ipv6hdr *ip6 = data + l2->l3_off;
  struct nd_msg *ns = (void *)(ip6 + 1);
  *reason = LB_R_PASS_ARP_NDP;
  if ((void *)(ns + 1) > data_end) return XDP_PASS;  // other, shorter ICMPv6
  if (ns->icmp.icmp6_type != NDISC_NEIGHBOUR_SOLICITATION || ns->icmp.icmp6_code != 0)
    return XDP_PASS;
  if (ip6->hop_limit != NDISC_HOP_LIMIT || bpf_ntohs(ip6->payload_len) < sizeof(*ns))
    return XDP_PASS;  // invalid per RFC 4861 7.1.1: the kernel discards it

  struct in6_addr target = ns->target;
  __u32 state = l2_state(target.in6_u.u6_addr32, LB_FAMILY_V6, ctx->ingress_ifindex);
  if (state == LB_L2_SILENT) {
    *reason = LB_R_DROP_NS_NOT_OWNER;
    return XDP_DROP;
  }
  if (state == LB_L2_FENCED) {
    l2_count(target.in6_u.u6_addr32, LB_FAMILY_V6, 0);
    *reason = LB_R_DROP_L2_FENCED;
    return XDP_DROP;
  }
  if (state != LB_L2_OWNED) return XDP_PASS;
  __u32 ifindex = ctx->ingress_ifindex;
  struct lb_iface *iface = bpf_map_lookup_elem(&lb_ifaces, &ifindex);
  if (!iface) return XDP_PASS;

  struct in6_addr asker = ip6->saddr;
  __u8 asker_mac[ETH_ALEN];
  __builtin_memcpy(asker_mac, l2->eth->h_source, ETH_ALEN);
  __u8 flags = NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE;
  if (ipv6_addr_is_unspecified(&asker)) {
    // Duplicate Address Detection (RFC 4862 5.4.3): defend by advertising to all-nodes, unsolicited.
    __builtin_memset(&asker, 0, sizeof(asker));
    asker.in6_u.u6_addr8[0] = 0xff;
    asker.in6_u.u6_addr8[1] = 0x02;
    asker.in6_u.u6_addr8[15] = 0x01;
    __u8 all_nodes_mac[ETH_ALEN] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};  // RFC 2464 section 7
    __builtin_memcpy(asker_mac, all_nodes_mac, ETH_ALEN);
    flags = NA_FLAG_OVERRIDE;
  }
  __u8 mac[ETH_ALEN];
  __builtin_memcpy(mac, iface->mac, ETH_ALEN);

  __u32 l3_off = l2->l3_off;
  int want = l3_off + sizeof(struct ipv6hdr) + sizeof(struct na_frame);
  if (bpf_xdp_adjust_tail(ctx, want - (int)(data_end - data))) return XDP_PASS;
  data = (void *)(long)ctx->data;
  data_end = (void *)(long)ctx->data_end;
  if (l3_off > sizeof(struct ethhdr) + sizeof(struct vlan_tag)) return XDP_PASS;
  struct ethhdr *eth = data;
  ip6 = data + l3_off;
  struct na_frame *na = (void *)(ip6 + 1);
  if ((void *)(eth + 1) > data_end || (void *)(na + 1) > data_end) return XDP_PASS;

  __builtin_memcpy(eth->h_dest, asker_mac, ETH_ALEN);
  __builtin_memcpy(eth->h_source, mac, ETH_ALEN);
  ip6->priority = 0;
  ip6->flow_lbl[0] = ip6->flow_lbl[1] = ip6->flow_lbl[2] = 0;
  ip6->payload_len = bpf_htons(sizeof(*na));
  ip6->nexthdr = IPPROTO_ICMPV6;
  ip6->hop_limit = NDISC_HOP_LIMIT;
  ip6->saddr = target;
  ip6->daddr = asker;
  __builtin_memset(&na->msg.icmp, 0, sizeof(na->msg.icmp));
  na->msg.icmp.icmp6_type = NDISC_NEIGHBOUR_ADVERTISEMENT;
  na->msg.icmp.icmp6_dataun.un_data8[0] = flags;
  na->msg.target = target;
  na->opt.type = ND_OPT_TARGET_LL_ADDR;
  na->opt.len = ND_OPT_LEN_ETHER;
  __builtin_memcpy(na->opt.addr, mac, ETH_ALEN);

  struct ipv6_pseudo_hdr ph = {.src = target,
                               .dst = asker,
                               .len = bpf_htonl(sizeof(*na)),
                               .nexthdr = bpf_htonl(IPPROTO_ICMPV6)};
  __s64 sum = bpf_csum_diff(0, 0, (void *)&ph, sizeof(ph), 0);
  if (sum < 0) return XDP_DROP;
  sum = bpf_csum_diff(0, 0, (void *)na, sizeof(*na), (__u32)sum);
  if (sum < 0) return XDP_DROP;
  na->msg.icmp.icmp6_cksum = csum_fold((__u64)sum);
  l2_count(target.in6_u.u6_addr32, LB_FAMILY_V6, 1);
  *reason = LB_R_TX_NDP_ADVERT;
  return XDP_TX;
}
