// The agent's next-hop table (lb_maps.h, lb_nexthop): the route and neighbour answer for an
// endpoint kept current from rtnetlink events, so that a forwarded frame needs one array lookup
// instead of bpf_fib_lookup -- the largest single cost of the forwarding path. Any doubt (no
// entry, another endpoint's entry, a long frame, an agent that stopped renewing lb_nexthop_live)
// falls back to the FIB, which then answers exactly as it did before the table existed.
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_maps.h"

// Set by the agent before load (libbpf skeleton rodata); 0 removes the table from the program.
const volatile __u8 cfg_nexthop_table = 1;

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, LB_MAX_BACKENDS);  // sized with lb_backends: indexed by backend id
  __type(key, __u32);
  __type(value, struct lb_nexthop);
} lb_nexthops SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct lb_nexthop_live);
} lb_nexthop_live SEC(".maps");

// The table's answer for this endpoint (id and address) and an L3 length of `len`, or NULL: ask
// the FIB.
static __always_inline const struct lb_nexthop *nexthop_lookup(__u32 backend_id,
                                                               const __be32 addr[4], __u32 len,
                                                               __u64 now) {
  if (!cfg_nexthop_table) return 0;
  __u32 zero = 0;
  const struct lb_nexthop_live *live = bpf_map_lookup_elem(&lb_nexthop_live, &zero);
  if (!live || now >= live->until_ns) return 0;
  const struct lb_nexthop *nh = bpf_map_lookup_elem(&lb_nexthops, &backend_id);
  if (!nh || !nh->ifindex || len > nh->mtu) return 0;
  if (nh->addr[0] != addr[0] || nh->addr[1] != addr[1] || nh->addr[2] != addr[2] ||
      nh->addr[3] != addr[3])
    return 0;
  return nh;
}
