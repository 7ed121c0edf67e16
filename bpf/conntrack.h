// Connection tracking: an LRU from the client's 5-tuple to the chosen backend, so live flows
// stay put when the backend set changes. New entries are rate-limited per CPU (Katran's flood
// guard): above the limit new flows still get Maglev's answer, they are just not remembered, so a
// SYN flood cannot push established flows out of the LRU.
#pragma once

#include "lb_bpf_maps.h"

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct lb_ct_rate);
} lb_ct_rate SEC(".maps");

#define NSEC_PER_SEC 1000000000ull

// Set by the agent before load (libbpf skeleton rodata).
const volatile __u64 cfg_max_ct_inserts_per_sec = LB_DEFAULT_MAX_CT_INSERTS_PER_SEC;

static __always_inline int ct_insert_allowed(__u64 now) {
  __u32 zero = 0;
  struct lb_ct_rate *r = bpf_map_lookup_elem(&lb_ct_rate, &zero);
  if (!r) return 0;
  if (now - r->window_start_ns > NSEC_PER_SEC) {
    r->window_start_ns = now;
    r->inserts = 0;
  }
  if (r->inserts >= cfg_max_ct_inserts_per_sec) return 0;
  r->inserts++;
  return 1;
}

// Marks an entry as used now, writing its cache line at most once per LB_CT_TOUCH_NS.
static __always_inline void ct_touch(struct lb_ct_value *v, __u64 now) {
  if (now - v->last_seen_ns > LB_CT_TOUCH_NS) v->last_seen_ns = now;
}

// The live entry for this flow, refreshed, or NULL.
static __always_inline struct lb_ct_value *ct_lookup(const struct lb_ct_key *key, __u64 now) {
  struct lb_ct_value *v = bpf_map_lookup_elem(&lb_conntrack, key);
  if (v) ct_touch(v, now);
  return v;
}

// Remembers the flow unless the flood guard says no; returns 0 when skipped.
static __always_inline int ct_insert(const struct lb_ct_key *key, __u32 backend_id,
                                     __u32 service_id, __u64 now) {
  if (!ct_insert_allowed(now)) return 0;
  struct lb_ct_value v = {.backend_id = backend_id,
                          .service_id = service_id,
                          .created_ns = now,
                          .last_seen_ns = now};
  bpf_map_update_elem(&lb_conntrack, key, &v, BPF_ANY);
  return 1;
}
