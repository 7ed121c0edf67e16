// ARP (RFC 826) for owned IPv4 VIPs: a request for one becomes its reply in place and goes back
// out by XDP_TX; a request for a VIP another node owns is dropped; all other ARP is the kernel's.
#pragma once

#include <linux/if_ether.h>

#include "l2_owner.h"
#include "parse.h"

// RFC 826 constants (linux/if_arp.h drags in libc headers a BPF target cannot use).
#define ARPHRD_ETHER 1
#define ARPOP_REQUEST 1
#define ARPOP_REPLY 2
#define ARP_IPV4_PLEN 4

struct arp_hdr {
  __be16 ar_hrd;
  __be16 ar_pro;
  __u8 ar_hln;
  __u8 ar_pln;
  __be16 ar_op;
};

// The whole Ethernet/IPv4 ARP packet (hln = 6, pln = 4).
struct arp_eth_ipv4 {
  struct arp_hdr hdr;
  __u8 sha[ETH_ALEN];
  __be32 spa;
  __u8 tha[ETH_ALEN];
  __be32 tpa;
} __attribute__((packed));

static __always_inline int arp_handle(struct xdp_md *ctx, struct l2 *l2, enum lb_reason *reason) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct arp_eth_ipv4 *arp = data + l2->l3_off;
  if ((void *)(arp + 1) > data_end) {
    *reason = LB_R_DROP_MALFORMED_L2;
    return XDP_DROP;
  }
  *reason = LB_R_PASS_ARP_NDP;
  if (arp->hdr.ar_hrd != bpf_htons(ARPHRD_ETHER) || arp->hdr.ar_pro != bpf_htons(ETH_P_IP) ||
      arp->hdr.ar_hln != ETH_ALEN || arp->hdr.ar_pln != ARP_IPV4_PLEN ||
      arp->hdr.ar_op != bpf_htons(ARPOP_REQUEST))
    return XDP_PASS;
  // A gratuitous request (sender == target) announces, it does not ask.
  if (arp->spa == arp->tpa) return XDP_PASS;

  __be32 vip[4] = {arp->tpa, 0, 0, 0};
  __u32 state = l2_state(vip, LB_FAMILY_V4, ctx->ingress_ifindex);
  if (state == LB_L2_SILENT) {
    *reason = LB_R_DROP_ARP_NOT_OWNER;
    return XDP_DROP;
  }
  if (state == LB_L2_FENCED) {
    l2_count(vip, LB_FAMILY_V4, 0);
    *reason = LB_R_DROP_L2_FENCED;
    return XDP_DROP;
  }
  if (state != LB_L2_OWNED) return XDP_PASS;
  __u32 ifindex = ctx->ingress_ifindex;
  struct lb_iface *iface = bpf_map_lookup_elem(&lb_ifaces, &ifindex);
  if (!iface) {
    l2_count(vip, LB_FAMILY_V4, 0);
    return XDP_PASS;  // interface not configured: nothing to answer with
  }
  l2_count(vip, LB_FAMILY_V4, 1);

  __be32 asker = arp->spa;
  __builtin_memcpy(l2->eth->h_dest, arp->sha, ETH_ALEN);
  __builtin_memcpy(l2->eth->h_source, iface->mac, ETH_ALEN);
  arp->hdr.ar_op = bpf_htons(ARPOP_REPLY);
  __builtin_memcpy(arp->tha, arp->sha, ETH_ALEN);
  arp->tpa = asker;
  __builtin_memcpy(arp->sha, iface->mac, ETH_ALEN);
  arp->spa = vip[0];
  *reason = LB_R_TX_ARP_REPLY;
  return XDP_TX;
}
