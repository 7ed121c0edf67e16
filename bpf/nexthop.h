// A per-CPU cache of bpf_fib_lookup's answers by endpoint (egress interface, MACs), so that a busy
// endpoint's packets skip the route and neighbour lookup -- the largest single cost of the
// forwarding path -- except the first one in each cfg_nexthop_cache_ns. Off by default (0): while
// on, a route or neighbour change towards an endpoint is seen up to that much later, and FIB
// rules or multipath routes that choose by the client's address, TOS or port are asked once per
// endpoint and lifetime, not once per packet (see docs/benchmarks-dataplane.md).
#pragma once

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#include "lb_maps.h"

// Set by the agent before load (libbpf skeleton rodata); 0 removes the cache from the program.
const volatile __u64 cfg_nexthop_cache_ns = 0;

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, LB_NEXTHOP_SLOTS);
  __type(key, __u32);
  __type(value, struct lb_nexthop);
} lb_nexthop_cache SEC(".maps");

// The slot for this endpoint, or NULL when the cache is off.
static __always_inline struct lb_nexthop *nexthop_slot(__u32 backend_id) {
  if (!cfg_nexthop_cache_ns) return 0;
  __u32 slot = backend_id % LB_NEXTHOP_SLOTS;
  return bpf_map_lookup_elem(&lb_nexthop_cache, &slot);
}

// Whether the slot holds a young enough answer for this endpoint (id and address), ingress and
// length.
static __always_inline int nexthop_fresh(const struct lb_nexthop *nh, __u32 backend_id,
                                         const __be32 addr[4], __u32 iif, __u32 len, __u64 now) {
  return nh && nh->stamp_ns && nh->backend_id == backend_id && nh->iif == iif &&
         len <= nh->max_len && now - nh->stamp_ns < cfg_nexthop_cache_ns &&
         nh->addr[0] == addr[0] && nh->addr[1] == addr[1] && nh->addr[2] == addr[2] &&
         nh->addr[3] == addr[3];
}

static __always_inline void nexthop_remember(struct lb_nexthop *nh, __u32 backend_id,
                                             const __be32 addr[4], __u32 iif, __u32 len,
                                             __u64 now, const struct bpf_fib_lookup *fib) {
  if (!nh) return;
  nh->stamp_ns = now;
  __builtin_memcpy(nh->addr, addr, sizeof(nh->addr));
  nh->backend_id = backend_id;
  nh->iif = iif;
  nh->ifindex = fib->ifindex;
  nh->max_len = len;
  __builtin_memcpy(nh->dmac, fib->dmac, ETH_ALEN);
  __builtin_memcpy(nh->smac, fib->smac, ETH_ALEN);
}
