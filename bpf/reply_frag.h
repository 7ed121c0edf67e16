// Fragmented replies of VIP flows, in tc_lb: an endpoint's reply larger than its path leaves the
// endpoint's kernel in fragments (a UDP answer of several kilobytes). The first fragment carries
// the ports: it is translated like any reply and leaves the VIP:port it got here under the
// datagram's identification (endpoint, client, id, protocol); the later ones, which carry no ports,
// take the VIP address from there -- the IPv4 header checksum is all that covers it (their bytes
// are inside the L4 checksum the first fragment's translation already fixed). Without this the
// later fragments left from the endpoint's address and the client could never reassemble the
// reply. A later fragment whose first one was not translated here is left alone, as any packet
// that belongs to no VIP flow.
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_bpf_maps.h"

// tc_lb's own, not pinned: a datagram's fragments leave within moments of each other.
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, LB_FRAG_ENTRIES);
  __type(key, struct lb_frag_key);  // src: the endpoint, dst: the client
  __type(value, struct lb_endpoint_vip);
} lb_reply_frags SEC(".maps");

static __always_inline void reply_frag_remember(const struct lb_frag_key *k,
                                                const struct lb_endpoint_vip *vip) {
  bpf_map_update_elem(&lb_reply_frags, k, vip, BPF_ANY);
}

// A later fragment of a reply whose first fragment was translated: its source becomes the VIP.
// `ip_csum_off` is 0 for IPv6. Returns 1 when it was rewritten.
static __always_inline int reply_frag_follow(struct __sk_buff *skb, const struct lb_frag_key *k,
                                             __u32 addr_off, __u32 ip_csum_off) {
  struct lb_endpoint_vip *v = bpf_map_lookup_elem(&lb_reply_frags, k);
  if (!v) return 0;
  if (ip_csum_off) {
    if (bpf_l3_csum_replace(skb, ip_csum_off, k->src[0], v->vip[0], sizeof(__be32))) return 0;
    return bpf_skb_store_bytes(skb, addr_off, v->vip, sizeof(__be32), 0) == 0;
  }
  return bpf_skb_store_bytes(skb, addr_off, v->vip, 4 * sizeof(__be32), 0) == 0;
}
