// Who answers for a VIP on an interface: lookup in lb_l2 with the per-interface entry first and
// the interface-wildcard (ifindex 0) entry second. No entry means the VIP is not ours to judge.
// An OWNED entry reads as LB_L2_FENCED while the agent's liveness stamp (lb_l2_live) is stale.
// l2_count() keeps the per-VIP request/response counters of owned VIPs (lb_l2_stats).
#pragma once

#include "lb_bpf_maps.h"

static __always_inline int l2_fenced(void) {
  __u32 zero = 0;
  struct lb_l2_live *live = bpf_map_lookup_elem(&lb_l2_live, &zero);
  if (!live || !live->max_age_ns) return 0;
  // Unsigned: a stamp from the future (never written by a sane agent) also fences.
  return bpf_ktime_get_ns() - live->stamp_ns > live->max_age_ns;
}

static __always_inline __u32 l2_state(const __be32 addr[4], __u8 family, __u32 ifindex) {
  struct lb_l2_key key = {};
  key.addr[0] = addr[0];
  key.addr[1] = addr[1];
  key.addr[2] = addr[2];
  key.addr[3] = addr[3];
  key.family = family;
  key.ifindex = ifindex;
  struct lb_l2_value *v = bpf_map_lookup_elem(&lb_l2, &key);
  if (!v) {
    key.ifindex = 0;
    v = bpf_map_lookup_elem(&lb_l2, &key);
  }
  if (!v) return 0;
  if (v->state == LB_L2_OWNED && l2_fenced()) return LB_L2_FENCED;
  return v->state;
}

// Counts a request for an owned (or fenced) VIP, and the answer when one was sent.
static __always_inline void l2_count(const __be32 addr[4], __u8 family, int answered) {
  struct lb_l2_key key = {};
  key.addr[0] = addr[0];
  key.addr[1] = addr[1];
  key.addr[2] = addr[2];
  key.addr[3] = addr[3];
  key.family = family;
  struct lb_l2_counter *c = bpf_map_lookup_elem(&lb_l2_stats, &key);
  if (!c) {
    struct lb_l2_counter zero = {};
    bpf_map_update_elem(&lb_l2_stats, &key, &zero, BPF_NOEXIST);
    c = bpf_map_lookup_elem(&lb_l2_stats, &key);
    if (!c) return;  // full: the VIP goes uncounted, never unanswered
  }
  c->requests += 1;
  c->responses += answered ? 1 : 0;
}
