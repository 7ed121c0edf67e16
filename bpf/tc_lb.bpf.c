// ironlb's reverse translation, on the uplink's tc egress: a reply that belongs to a VIP flow
// delivered by this node leaves with the VIP:port as source, so the client sees the address it
// connected to. The flow is found through conntrack: for each VIP:port the sending endpoint
// serves (lb_endpoints), the entry (client:port -> VIP:port) that names this endpoint. Anything
// else from an endpoint (the endpoint reached by its own address, traffic it starts) leaves
// untouched. It runs in tc rather than XDP because replies come from the node's own
// stack (routed from the endpoint's interface), which XDP never sees on the way out; tc's
// checksum helpers also handle the partial checksums of locally offloaded skbs. Never drops.
// A VIP flow's SYN-ACK also gets its MSS clamped to what the GUE tunnel carries (mss.h), and a
// fragmented reply's later fragments follow its first one (reply_frag.h).
// On the uplink's tc ingress, tc_lb_ingress sends on the encapsulated frames xdp_lb could not send
// itself because their next hop was unresolved (encap.h's encap_resolve).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lb_bpf_maps.h"
#include "mss.h"
#include "reply_frag.h"
#include "parse.h"

// Ethernet + 802.1Q + IPv4 with maximal options (60) + TCP without options: all we rewrite.
#define TC_HEADERS_MAX (14 + 4 + 60 + 20)

struct rev_target {
  __u32 addr_off;   // source address offset in the frame
  __u32 port_off;   // source port offset
  __u32 csum_off;   // L4 checksum offset
  __u32 ip_csum_off;  // IPv4 header checksum offset (0 for IPv6)
  __u8 proto;
};

static __always_inline __u32 l4_csum_offset(__u32 l4_off, __u8 proto) {
  return l4_off + (proto == IPPROTO_TCP ? offsetof(struct tcphdr, check)
                                         : offsetof(struct udphdr, check));
}

static __always_inline int rewrite(struct __sk_buff *skb, const struct rev_target *t,
                                   const __be32 *old_addr, const struct lb_endpoint_vip *vip,
                                   __be16 old_port, __u32 addr_len) {
  // UDP: a zero checksum stays zero and a computed zero goes out as all ones (RFC 768).
  __u64 l4_flags = BPF_F_PSEUDO_HDR | (t->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0);
  __s64 diff = bpf_csum_diff((__be32 *)old_addr, addr_len, (__be32 *)vip->vip, addr_len, 0);
  if (diff < 0) return -1;
  if (bpf_l4_csum_replace(skb, t->csum_off, 0, diff, l4_flags)) return -1;
  if (t->ip_csum_off && bpf_l3_csum_replace(skb, t->ip_csum_off, 0, diff, 0)) return -1;
  if (bpf_l4_csum_replace(skb, t->csum_off, old_port, vip->port,
                          sizeof(__be16) | (l4_flags & BPF_F_MARK_MANGLED_0)))
    return -1;
  if (bpf_skb_store_bytes(skb, t->addr_off, vip->vip, addr_len, 0)) return -1;
  if (bpf_skb_store_bytes(skb, t->port_off, &vip->port, sizeof(vip->port), 0))
    return -1;
  return 0;
}

// Which of the endpoint's VIP:ports the reply's flow was sent to: the one whose conntrack entry
// (client:port -> VIP:port) names this endpoint. `flow` holds the client side already. A client
// that reuses a source port for another VIP of the same endpoint (UDP clients do, from a new
// socket; TCP clients once the port's TIME_WAIT is over) leaves the old flow's entry behind; at
// the endpoint both flows have the same addresses and ports, so the reply belongs to the flow
// whose entry was seen last. Not the one created last: a client that goes back to the first VIP
// finds that VIP's old entry, still naming this endpoint, and keeps it (only its last_seen is
// refreshed), so the other VIP's entry is the newer one and the SYN-ACK left with the wrong VIP:
// the client reset it (the fault suite's rare failed new connections). last_seen is refreshed
// at most once per LB_CT_TOUCH_NS, so a port reused within that second of the other flow's last
// packet stays ambiguous; creation breaks ties.
static __always_inline int flow_vip(const struct lb_endpoint_value *ep, struct lb_ct_key *flow,
                                    struct lb_endpoint_vip *out) {
  const __u32 n = ep->vip_count, backend_id = ep->backend_id;
  int found = 0;
  __u64 seen = 0, created = 0;
  for (__u32 i = 0; i < LB_ENDPOINT_VIPS && i < n; i++) {
    __builtin_memcpy(flow->dst, ep->vips[i].vip, sizeof(flow->dst));
    flow->dport = ep->vips[i].port;
    struct lb_ct_value *ct = bpf_map_lookup_elem(&lb_conntrack, flow);
    if (!ct || ct->backend_id != backend_id) continue;
    const __u64 ct_seen = ct->last_seen_ns, ct_created = ct->created_ns;
    if (found && (ct_seen < seen || (ct_seen == seen && ct_created <= created))) continue;
    seen = ct_seen;
    created = ct_created;
    *out = ep->vips[i];
    found = 1;
  }
  return found;
}

SEC("tc")
int tc_lb_egress(struct __sk_buff *skb) {
  // Headers must be in the linear head for direct access; the payload may stay in fragments.
  __u32 want = TC_HEADERS_MAX < skb->len ? TC_HEADERS_MAX : skb->len;
  if (skb->data_end - skb->data < want) bpf_skb_pull_data(skb, want);
  void *data = (void *)(long)skb->data;
  void *data_end = (void *)(long)skb->data_end;
  struct l2 l2;
  if (parse_l2(data, data_end, &l2) != PARSE_OK) return TC_ACT_OK;

  struct lb_endpoint_key key = {};
  struct lb_ct_key flow = {};
  struct rev_target t = {};
  __be32 old_addr[4] = {};
  __u32 addr_len;
  void *l4;
  struct lb_frag_key fk = {};  // when the reply is the first fragment of a datagram
  int first_fragment = 0;
  if (l2.proto == bpf_htons(ETH_P_IP)) {
    struct iphdr *ip;
    if (parse_ipv4(data, data_end, l2.l3_off, &ip, &l4, VIEW_LINEAR_HEAD) != PARSE_OK) return TC_ACT_OK;
    if (ipv4_is_fragment(ip)) {
      fk.src[0] = ip->saddr;
      fk.dst[0] = ip->daddr;
      fk.id = ip->id;
      fk.proto = ip->protocol;
      fk.family = LB_FAMILY_V4;
      if (ipv4_is_later_fragment(ip)) {
        if (reply_frag_follow(skb, &fk, l2.l3_off + offsetof(struct iphdr, saddr),
                              l2.l3_off + offsetof(struct iphdr, check)))
          lb_count_reason(LB_R_REVNAT, skb->len);
        return TC_ACT_OK;
      }
      first_fragment = 1;
    }
    key.addr[0] = old_addr[0] = ip->saddr;
    flow.src[0] = ip->daddr;
    key.family = LB_FAMILY_V4;
    t.proto = ip->protocol;
    t.addr_off = l2.l3_off + offsetof(struct iphdr, saddr);
    t.ip_csum_off = l2.l3_off + offsetof(struct iphdr, check);
    addr_len = sizeof(__be32);
  } else if (l2.proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr *ip6;
    if (parse_ipv6(data, data_end, l2.l3_off, &ip6, VIEW_LINEAR_HEAD) != PARSE_OK) return TC_ACT_OK;
    __builtin_memcpy(key.addr, ip6->saddr.in6_u.u6_addr32, sizeof(key.addr));
    __builtin_memcpy(flow.src, ip6->daddr.in6_u.u6_addr32, sizeof(flow.src));
    __builtin_memcpy(old_addr, key.addr, sizeof(old_addr));
    key.family = LB_FAMILY_V6;
    t.proto = ip6->nexthdr;
    t.addr_off = l2.l3_off + offsetof(struct ipv6hdr, saddr);
    l4 = ip6 + 1;
    addr_len = 4 * sizeof(__be32);
    if (t.proto == IPV6_NEXTHDR_FRAGMENT) {
      struct ipv6_frag_hdr *fh = l4;
      if ((void *)(fh + 1) > data_end) return TC_ACT_OK;
      __builtin_memcpy(fk.src, key.addr, sizeof(fk.src));
      __builtin_memcpy(fk.dst, flow.src, sizeof(fk.dst));
      fk.id = fh->id;
      fk.proto = fh->nexthdr;
      fk.family = LB_FAMILY_V6;
      if (ipv6_is_later_fragment(fh)) {
        if (reply_frag_follow(skb, &fk, t.addr_off, 0)) lb_count_reason(LB_R_REVNAT, skb->len);
        return TC_ACT_OK;
      }
      first_fragment = (fh->frag_off & bpf_htons(IP6_MF)) != 0;
      t.proto = fh->nexthdr;
      l4 = fh + 1;
    }
  } else {
    return TC_ACT_OK;
  }
  if (t.proto != IPPROTO_TCP && t.proto != IPPROTO_UDP) return TC_ACT_OK;
  __u32 need = t.proto == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr);
  if (l4 + need > data_end) return TC_ACT_OK;
  __be16 *ports = l4;  // source, destination: at the same place in TCP and UDP
  if ((void *)(ports + 2) > data_end) return TC_ACT_OK;
  key.port = ports[0];
  flow.sport = ports[1];
  __u32 l4_off = l4 - data;
  key.proto = flow.proto = t.proto;
  flow.family = key.family;
  struct lb_endpoint_value *ep = bpf_map_lookup_elem(&lb_endpoints, &key);
  if (!ep) return TC_ACT_OK;
  struct lb_endpoint_vip v;
  if (!flow_vip(ep, &flow, &v)) return TC_ACT_OK;
  t.port_off = l4_off;
  t.csum_off = l4_csum_offset(l4_off, t.proto);
  struct tcphdr *tcp = l4;
  if (t.proto == IPPROTO_TCP && (void *)(tcp + 1) <= data_end && tcp_is_syn_ack(tcp)) {
    const __u32 hlen = tcp->doff * 4;
    const __u32 limit = mss_limit(skb, key.family);
    if (limit && mss_clamp(skb, l4_off, hlen, t.csum_off, limit))
      lb_count_reason(LB_R_TCP_MSS_CLAMPED, skb->len);
  }
  if (addr_len == sizeof(__be32)) {
    if (rewrite(skb, &t, old_addr, &v, key.port, sizeof(__be32))) return TC_ACT_OK;
  } else {
    if (rewrite(skb, &t, old_addr, &v, key.port, 4 * sizeof(__be32)))
      return TC_ACT_OK;
  }
  if (first_fragment) reply_frag_remember(&fk, &v);
  lb_count_reason(LB_R_REVNAT, skb->len);
  return TC_ACT_OK;
}

// A frame xdp_lb encapsulated for another node whose next hop was unresolved, with the FIB's answer
// in its XDP metadata: bpf_redirect_neigh resolves the neighbour and queues the frame meanwhile
// (the kernel's own output path), filling in both MACs. Everything else goes on untouched.
SEC("tc")
int tc_lb_ingress(struct __sk_buff *skb) {
  const struct lb_xdp_meta *m = (void *)(long)skb->data_meta;
  if ((void *)(m + 1) > (void *)(long)skb->data || m->magic != LB_META_RESOLVE) return TC_ACT_OK;
  struct bpf_redir_neigh nh = {};
  nh.nh_family = m->family;
  __builtin_memcpy(nh.ipv6_nh, m->nexthop, sizeof(nh.ipv6_nh));
  return bpf_redirect_neigh(m->ifindex, &nh, sizeof(nh), 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
