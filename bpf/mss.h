// TCP MSS clamping for VIP flows, in tc_lb on the uplink's egress. A client's segments to a VIP may
// cross the GUE tunnel to the endpoint's node (now, or once ECMP moves the flow to another node),
// carrying LB_GUE*_OVERHEAD bytes more than the client's own path allowed for. The size of those
// segments is set by the MSS the endpoint's SYN-ACK announces -- the client's SYN only bounds the
// replies, which leave the endpoint's node straight to the client -- so the SYN-ACK of every VIP
// flow leaving here is clamped to what fits the tunnel (MTU - overhead - inner IP - TCP header).
// Clients then never depend on "fragmentation needed" getting through to them (ICMP filtered on
// their side would otherwise stall every full-size transfer). An MSS already below the limit, and
// every other packet, are left alone.
#pragma once

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lb_maps.h"

// Set by the agent before load (--tcp-mss-clamp); LB_MSS_CLAMP_AUTO by default.
const volatile __u32 cfg_mss_clamp_mtu = LB_MSS_CLAMP_AUTO;

// RFC 9293 3.2: option kinds, and the MSS option's length.
#define TCP_OPT_EOL 0
#define TCP_OPT_NOP 1
#define TCP_OPT_MSS 2
#define TCP_OPT_MSS_LEN 4
#define TCP_OPTIONS_MAX 40  // data offset 15 words, 5 of them the fixed header

// The largest MSS that fits once encapsulated, or 0 when nothing is to be clamped.
static __always_inline __u32 mss_limit(struct __sk_buff *skb, __u8 family) {
  __u32 mtu = cfg_mss_clamp_mtu;
  if (mtu == LB_MSS_CLAMP_OFF) return 0;
  if (mtu == LB_MSS_CLAMP_AUTO) {
    mtu = 0;  // 0 in: only the device's MTU comes back (ifindex 0: the skb's own device)
    if (bpf_check_mtu(skb, 0, &mtu, 0, 0) < 0) return 0;
  }
  const __u32 headers = family == LB_FAMILY_V4
                            ? LB_GUE4_OVERHEAD + sizeof(struct iphdr) + sizeof(struct tcphdr)
                            : LB_GUE6_OVERHEAD + sizeof(struct ipv6hdr) + sizeof(struct tcphdr);
  return mtu > headers ? mtu - headers : 0;
}

static __always_inline int tcp_is_syn_ack(const struct tcphdr *tcp) {
  return tcp->syn && tcp->ack && !tcp->rst;
}

// One walk over a segment's options, as bpf_loop steps it (verified once, whatever the layout of
// the options; a plain loop makes the verifier follow every sequence of option lengths).
struct mss_walk {
  struct __sk_buff *skb;
  __u32 l4_off;    // TCP header in the frame
  __u32 hlen;      // TCP data offset in bytes
  __u32 csum_off;  // TCP checksum in the frame
  __u32 limit;
  __u32 off;  // next option, from the TCP header
  int clamped;
};

// 0: go on to the option at w->off; 1: stop (clamped, nothing to clamp, or malformed).
static long mss_step(__u32 index, void *arg) {
  struct mss_walk *w = arg;
  // Nothing the size of an MSS option is left: done (a trailing NOP or EOL may remain).
  if (w->off + TCP_OPT_MSS_LEN > w->hlen) return 1;
  __u8 opt[TCP_OPT_MSS_LEN];
  if (bpf_skb_load_bytes(w->skb, w->l4_off + w->off, opt, sizeof(opt))) return 1;
  if (opt[0] == TCP_OPT_EOL) return 1;
  if (opt[0] == TCP_OPT_NOP) {
    w->off++;
    return 0;
  }
  if (opt[0] == TCP_OPT_MSS && opt[1] == TCP_OPT_MSS_LEN) {
    const __u32 mss = ((__u32)opt[2] << 8) | opt[3];
    if (mss <= w->limit) return 1;
    const __be16 from = bpf_htons((__u16)mss), to = bpf_htons((__u16)w->limit);
    if (bpf_l4_csum_replace(w->skb, w->csum_off, from, to, sizeof(to))) return 1;
    if (bpf_skb_store_bytes(w->skb, w->l4_off + w->off + 2, &to, sizeof(to), 0)) return 1;
    w->clamped = 1;
    return 1;
  }
  if (opt[1] < 2) return 1;  // malformed: a length covers kind and length at least
  w->off += opt[1];
  return 0;
}

// Lowers the MSS option of the TCP segment at l4_off (data offset `hlen` bytes, checksum at
// csum_off) to `limit`; 1 when it changed. The options are read with bpf_skb_load_bytes, wherever
// the skb keeps them. Invalidates packet pointers.
static __always_inline int mss_clamp(struct __sk_buff *skb, __u32 l4_off, __u32 hlen,
                                     __u32 csum_off, __u32 limit) {
  struct mss_walk w = {.skb = skb,
                       .l4_off = l4_off,
                       .hlen = hlen,
                       .csum_off = csum_off,
                       .limit = limit,
                       .off = sizeof(struct tcphdr)};
  bpf_loop(TCP_OPTIONS_MAX, mss_step, &w, 0);
  return w.clamped;
}
