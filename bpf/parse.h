// Frame parsing for ironlb's programs: Ethernet with at most one 802.1Q tag, then a
// bounds-checked view of the IPv4/IPv6 header. Every pointer returned is inside the frame.
#pragma once

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

// IEEE 802.1Q tag (TPID 0x8100) as it sits between the MAC addresses and the EtherType.
struct vlan_tag {
  __be16 tci;
  __be16 encapsulated_proto;
};

#define ETH_P_8021Q_BE bpf_htons(ETH_P_8021Q)
#define ETH_P_8021AD_BE bpf_htons(ETH_P_8021AD)

// IPv4 flags/fragment-offset field (RFC 791): More Fragments and the 13-bit offset.
#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define IPV4_IHL_MIN 5  // 20-byte header, no options

enum parse_result {
  PARSE_OK = 0,
  PARSE_MALFORMED,    // truncated or inconsistent: never forward
  PARSE_UNSUPPORTED,  // well-formed but not ours to handle (e.g. QinQ): leave to the kernel
};

struct l2 {
  struct ethhdr *eth;
  __be16 proto;     // EtherType after the optional tag, network order
  __u16 l3_off;     // offset of the L3 header from the frame start
  __u8 vlan;        // 1 if one 802.1Q tag was present
};

static __always_inline enum parse_result parse_l2(void *data, void *data_end, struct l2 *out) {
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return PARSE_MALFORMED;
  out->eth = eth;
  out->proto = eth->h_proto;
  out->l3_off = sizeof(*eth);
  out->vlan = 0;
  if (out->proto == ETH_P_8021Q_BE) {
    struct vlan_tag *tag = (void *)(eth + 1);
    if ((void *)(tag + 1) > data_end) return PARSE_MALFORMED;
    out->proto = tag->encapsulated_proto;
    out->l3_off += sizeof(*tag);
    out->vlan = 1;
  }
  // A second tag (QinQ) is a provider network's business, not a Kubernetes node's.
  if (out->proto == ETH_P_8021Q_BE || out->proto == ETH_P_8021AD_BE) return PARSE_UNSUPPORTED;
  return PARSE_OK;
}

// How much of the packet the caller can see: XDP sees the whole frame, tc only the skb's linear
// head (the payload of a local socket's segment often sits in page fragments).
enum view { VIEW_WHOLE_FRAME, VIEW_LINEAR_HEAD };

// A validated IPv4 header: version 4, IHL >= 5, header and (when the whole frame is visible)
// total length inside the frame -- the checks the kernel's ip_rcv makes before it accepts a packet.
static __always_inline enum parse_result parse_ipv4(void *data, void *data_end, __u16 off,
                                                    struct iphdr **out, void **l4,
                                                    enum view view) {
  struct iphdr *ip = data + off;
  if ((void *)(ip + 1) > data_end) return PARSE_MALFORMED;
  if (ip->version != 4 || ip->ihl < IPV4_IHL_MIN) return PARSE_MALFORMED;
  __u32 hlen = ip->ihl * 4;
  __u32 tot = bpf_ntohs(ip->tot_len);
  if (tot < hlen) return PARSE_MALFORMED;
  if (view == VIEW_WHOLE_FRAME && (void *)ip + tot > data_end) return PARSE_MALFORMED;
  *out = ip;
  *l4 = (void *)ip + hlen;
  return PARSE_OK;
}

static __always_inline enum parse_result parse_ipv6(void *data, void *data_end, __u16 off,
                                                    struct ipv6hdr **out, enum view view) {
  struct ipv6hdr *ip6 = data + off;
  if ((void *)(ip6 + 1) > data_end) return PARSE_MALFORMED;
  if (ip6->version != 6) return PARSE_MALFORMED;
  if (view == VIEW_WHOLE_FRAME && (void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len) > data_end)
    return PARSE_MALFORMED;
  *out = ip6;
  return PARSE_OK;
}

static __always_inline int ipv4_is_fragment(const struct iphdr *ip) {
  return (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) != 0;
}

// A fragment other than the first: no L4 header.
static __always_inline int ipv4_is_later_fragment(const struct iphdr *ip) {
  return (ip->frag_off & bpf_htons(IP_OFFSET)) != 0;
}

// IPv6 Fragment extension header (RFC 8200 section 4.5). The program looks at it only as the
// first header after IPv6's own, where senders put it when no other extension header comes first.
#define IPV6_NEXTHDR_FRAGMENT 44
#define IP6_MF 0x0001       // More Fragments, in the low bit of frag_off
#define IP6_OFFSET 0xfff8   // fragment offset in 8-byte units, the 13 high bits

struct ipv6_frag_hdr {
  __u8 nexthdr;
  __u8 reserved;
  __be16 frag_off;  // offset << 3 | M
  __be32 id;
};

static __always_inline int ipv6_is_later_fragment(const struct ipv6_frag_hdr *fh) {
  return (fh->frag_off & bpf_htons(IP6_OFFSET)) != 0;
}

// IPv6 extension headers (RFC 8200 section 4) the program does not walk.
static __always_inline int ipv6_is_ext_header(__u8 nexthdr) {
  return nexthdr == 0 /* Hop-by-Hop */ || nexthdr == 43 /* Routing */ ||
         nexthdr == 44 /* Fragment */ || nexthdr == 60 /* Destination Options */ ||
         nexthdr == 51 /* AH */ || nexthdr == 135 /* Mobility */;
}
