// Who answers for a VIP on an interface: lookup in lb_l2 with the per-interface entry first and
// the interface-wildcard (ifindex 0) entry second. No entry means the VIP is not ours to judge.
#pragma once

#include "lb_bpf_maps.h"

static __always_inline __u32 l2_state(const __be32 addr[4], __u8 family, __u32 ifindex) {
  struct lb_l2_key key = {};
  key.addr[0] = addr[0];
  key.addr[1] = addr[1];
  key.addr[2] = addr[2];
  key.addr[3] = addr[3];
  key.family = family;
  key.ifindex = ifindex;
  struct lb_l2_value *v = bpf_map_lookup_elem(&lb_l2, &key);
  if (v) return v->state;
  key.ifindex = 0;
  v = bpf_map_lookup_elem(&lb_l2, &key);
  return v ? v->state : 0;
}
