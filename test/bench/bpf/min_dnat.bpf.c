// The local ceiling for ironlb's benchmarks, not part of the product: the least an XDP program
// must do to load-balance IPv4 TCP/UDP -- match one VIP:port, pick one of a few endpoints by a
// cheap hash of the client, rewrite destination address and port with incremental checksum
// updates (RFC 1624), decrement the TTL, write fixed MACs and redirect. No conntrack, no route
// lookup, no counters, no IPv6: whatever ironlb costs above this is the price of its features.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "csum16.h"
#include "min_dnat.h"

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct min_dnat_config);
} min_dnat_config SEC(".maps");

// The rewrite and redirect every variant ends with, to endpoint i.
static __always_inline int min_dnat_to(struct ethhdr *eth, struct iphdr *ip, __be16 *ports,
                                       void *data_end, const struct min_dnat_config *c, __u32 i) {
  if (i >= MIN_DNAT_MAX_ENDPOINTS) return XDP_PASS;
  asm volatile("" : "+r"(i));  // keep the mask below: the verifier needs this register's bound
  const struct min_dnat_endpoint *e = &c->endpoints[i & (MIN_DNAT_MAX_ENDPOINTS - 1)];
  __u16 *l4_check;
  if (ip->protocol == IPPROTO_TCP) {
    struct tcphdr *tcp = (void *)ports;
    if ((void *)(tcp + 1) > data_end) return XDP_PASS;
    l4_check = &tcp->check;
  } else {
    struct udphdr *udp = (void *)ports;
    if ((void *)(udp + 1) > data_end) return XDP_PASS;
    l4_check = &udp->check;
  }
  __u16 l4 = csum32_update(*l4_check, ip->daddr, e->addr);
  *l4_check = csum16_update(l4, ports[1], e->port);
  __u16 ttl_from = *(__u16 *)&ip->ttl;
  ip->ttl--;
  ip->check = csum32_update(ip->check, ip->daddr, e->addr);
  ip->check = csum16_update(ip->check, ttl_from, *(__u16 *)&ip->ttl);
  ip->daddr = e->addr;
  ports[1] = e->port;
  __builtin_memcpy(eth->h_dest, e->mac, ETH_ALEN);
  __builtin_memcpy(eth->h_source, c->src_mac, ETH_ALEN);
  return bpf_redirect(e->ifindex, 0);
}

// The frame's VIP:port match; NULL when the frame is not for the VIP.
static __always_inline const struct min_dnat_config *min_dnat_match(void *data, void *data_end,
                                                                    struct iphdr **ipp,
                                                                    __be16 **portsp) {
  struct ethhdr *eth = data;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5) return 0;
  __be16 *ports = (void *)(ip + 1);
  if ((void *)(ports + 2) > data_end) return 0;
  __u32 zero = 0;
  struct min_dnat_config *c = bpf_map_lookup_elem(&min_dnat_config, &zero);
  if (!c || ip->daddr != c->vip || ports[1] != c->vip_port || ip->protocol != c->proto ||
      c->count == 0 || ip->ttl <= 1)
    return 0;
  *ipp = ip;
  *portsp = ports;
  return c;
}

// ---- stateful variants: what one per-flow record costs, apart from everything else ----------
// min_dnat_ct remembers each flow in an LRU hash shaped as ironlb's conntrack (a 40-byte key of
// both families' addresses, a 24-byte value, 262,144 entries) and takes the endpoint from it;
// min_dnat_fc puts a per-CPU two-way cache of IPv4 flows (32-byte entries, one cache line a set)
// in front of that LRU, touching the LRU at most once a second per flow.
struct min_ct_key {
  __be32 src[4];
  __be32 dst[4];
  __be16 sport;
  __be16 dport;
  __u8 proto;
  __u8 family;
  __u8 pad[2];
};

struct min_ct_value {
  __u32 endpoint;
  __u32 service;
  __u64 created_ns;
  __u64 last_seen_ns;
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 262144);
  __type(key, struct min_ct_key);
  __type(value, struct min_ct_value);
} min_ct SEC(".maps");

// The endpoint `map` (min_ct or min_ct4) records for the flow `key`, recorded now if none is.
static __always_inline __u32 min_ct_record(void *map, const void *key, __u32 fresh, __u64 now) {
  struct min_ct_value *v = bpf_map_lookup_elem(map, key);
  if (v) {
    if (now - v->last_seen_ns > 1000000000ull) v->last_seen_ns = now;
    return v->endpoint;
  }
  struct min_ct_value nv = {.endpoint = fresh, .created_ns = now, .last_seen_ns = now};
  bpf_map_update_elem(map, key, &nv, BPF_ANY);
  return fresh;
}

static __always_inline __u32 min_ct_endpoint(const struct min_dnat_config *c, struct iphdr *ip,
                                             __be16 *ports, __u64 now) {
  struct min_ct_key k = {};
  k.src[0] = ip->saddr;
  k.dst[0] = ip->daddr;
  k.sport = ports[0];
  k.dport = ports[1];
  k.proto = ip->protocol;
  k.family = 4;
  return min_ct_record(&min_ct, &k, (ip->saddr ^ ports[0]) % c->count, now);
}

// min_dnat_ct4: the same record keyed by IPv4's 16 bytes only (a map per family).
struct min_ct4_key {
  __be32 src;
  __be32 dst;
  __be16 sport;
  __be16 dport;
  __u32 proto;
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 262144);
  __type(key, struct min_ct4_key);
  __type(value, struct min_ct_value);
} min_ct4 SEC(".maps");

static __always_inline __u32 min_ct4_endpoint(const struct min_dnat_config *c, struct iphdr *ip,
                                              __be16 *ports, __u64 now) {
  struct min_ct4_key k = {.src = ip->saddr,
                          .dst = ip->daddr,
                          .sport = ports[0],
                          .dport = ports[1],
                          .proto = ip->protocol};
  return min_ct_record(&min_ct4, &k, (ip->saddr ^ ports[0]) % c->count, now);
}

struct min_fc_entry {
  __be32 saddr;
  __be32 daddr;
  __be32 ports;
  __u32 proto;  // 0: empty
  __u32 endpoint;
  __u32 stamp;  // coarse seconds when the LRU was last touched for this flow
  __u32 pad[2];
};

struct min_fc_set {
  struct min_fc_entry way[2];
};

// Read by the loader: sets per CPU (a power of two).
const volatile __u32 min_fc_sets_per_cpu = 1;

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);  // page-aligned values: a set is one cache line
  __uint(max_entries, 1);             // resized by the loader: sets per CPU x CPUs
  __type(key, __u32);
  __type(value, struct min_fc_set);
} min_fc SEC(".maps");

// MIN_DNAT_MAX_ENDPOINTS when the cache cannot be read.
static __always_inline __u32 min_fc_endpoint(const struct min_dnat_config *c, struct iphdr *ip,
                                             __be16 *ports, __u64 now) {
  __u32 secs = (__u32)(now >> 30);
  __be32 pw = *(__be32 *)ports;
  __u32 h = (ip->saddr * 0x9e3779b1u) ^ (pw * 0x85ebca6bu) ^ ip->daddr;
  h ^= h >> 15;
  __u32 idx = bpf_get_smp_processor_id() * min_fc_sets_per_cpu + (h & (min_fc_sets_per_cpu - 1));
  struct min_fc_set *s = bpf_map_lookup_elem(&min_fc, &idx);
  if (!s) return MIN_DNAT_MAX_ENDPOINTS;
  __u32 i = MIN_DNAT_MAX_ENDPOINTS;
  struct min_fc_entry *e = &s->way[0];
  if (e->saddr == ip->saddr && e->ports == pw && e->daddr == ip->daddr &&
      e->proto == ip->protocol) {
    i = e->endpoint;
  } else {
    e = &s->way[1];
    if (e->saddr == ip->saddr && e->ports == pw && e->daddr == ip->daddr &&
        e->proto == ip->protocol)
      i = e->endpoint;
  }
  if (i < MIN_DNAT_MAX_ENDPOINTS) {
    if (e->stamp != secs) {
      e->stamp = secs;
      i = min_ct_endpoint(c, ip, ports, now);
      e->endpoint = i;
    }
  } else {
    i = min_ct_endpoint(c, ip, ports, now);
    s->way[1] = s->way[0];
    e = &s->way[0];
    e->saddr = ip->saddr;
    e->daddr = ip->daddr;
    e->ports = pw;
    e->proto = ip->protocol;
    e->endpoint = i;
    e->stamp = secs;
  }
  return i;
}

enum min_variant { MIN_PLAIN, MIN_CT, MIN_CT4, MIN_FC };

// Every variant: match the VIP:port, choose an endpoint the variant's way, rewrite, redirect.
static __always_inline int min_dnat_run(struct xdp_md *ctx, enum min_variant variant) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct iphdr *ip;
  __be16 *ports;
  const struct min_dnat_config *c = min_dnat_match(data, data_end, &ip, &ports);
  if (!c) return XDP_PASS;
  __u32 i;
  switch (variant) {
    case MIN_CT: i = min_ct_endpoint(c, ip, ports, bpf_ktime_get_coarse_ns()); break;
    case MIN_CT4: i = min_ct4_endpoint(c, ip, ports, bpf_ktime_get_coarse_ns()); break;
    case MIN_FC: i = min_fc_endpoint(c, ip, ports, bpf_ktime_get_coarse_ns()); break;
    default: i = (ip->saddr ^ ports[0]) % c->count;
  }
  return min_dnat_to(data, ip, ports, data_end, c, i);
}

SEC("xdp")
int min_dnat(struct xdp_md *ctx) { return min_dnat_run(ctx, MIN_PLAIN); }

SEC("xdp")
int min_dnat_ct(struct xdp_md *ctx) { return min_dnat_run(ctx, MIN_CT); }

SEC("xdp")
int min_dnat_ct4(struct xdp_md *ctx) { return min_dnat_run(ctx, MIN_CT4); }

SEC("xdp")
int min_dnat_fc(struct xdp_md *ctx) { return min_dnat_run(ctx, MIN_FC); }

// Control for peers that encapsulate (Katran's IPIP): grows the frame by an IPv4 header's worth
// at the front and sends it back, so the cost of bpf_xdp_adjust_head -- and of the harness moving
// the head back before the next run -- can be told apart from the peer's own work.
SEC("xdp")
int adjust_head_control(struct xdp_md *ctx) {
  if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr))) return XDP_ABORTED;
  return XDP_TX;
}
char LICENSE[] SEC("license") = "Dual BSD/GPL";
