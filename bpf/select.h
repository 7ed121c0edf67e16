// Backend choice for a flow to a known service: the conntrack entry if one is live and its backend
// still exists, else the service's Maglev table indexed by the flow hash (remembered unless the
// flood guard refuses).
#pragma once

#include "conntrack.h"
#include "flow_hash.h"
#include "lb_bpf_maps.h"

static __always_inline struct lb_backend *backend_get(__u32 id) {
  struct lb_backend *b = bpf_map_lookup_elem(&lb_backends, &id);
  return b && b->action != LB_ACTION_NONE ? b : 0;
}

// Whether an IPv4 address is a VIP (of any port).
static __always_inline int vip_addr4(__be32 addr) {
  struct lb_vip_addr_key k = {};
  k.addr[0] = addr;
  k.family = LB_FAMILY_V4;
  return bpf_map_lookup_elem(&lb_vip_addrs, &k) != 0;
}

static __always_inline int vip_addr6(const __be32 *addr) {
  struct lb_vip_addr_key k = {};
  __builtin_memcpy(k.addr, addr, sizeof(k.addr));
  k.family = LB_FAMILY_V6;
  return bpf_map_lookup_elem(&lb_vip_addrs, &k) != 0;
}

// The backend a flow is on (conntrack) or would get (Maglev), remembering nothing: for ICMP errors
// about the flow, which must not create state.
static __always_inline struct lb_backend *peek_backend(const struct lb_ct_key *key,
                                                       const struct lb_service *svc,
                                                       __u32 *backend_id) {
  struct lb_ct_value *ct = bpf_map_lookup_elem(&lb_conntrack, key);
  if (ct) {
    struct lb_backend *b = backend_get(ct->backend_id);
    if (b) {
      *backend_id = ct->backend_id;
      return b;
    }
  }
  if (svc->backend_count == 0 || svc->maglev_size == 0) return 0;
  __u32 slot = svc->maglev_base + lb_flow_hash(key) % svc->maglev_size;
  __u32 *id = bpf_map_lookup_elem(&lb_maglev, &slot);
  if (!id) return 0;
  *backend_id = *id;
  return backend_get(*id);
}

// Returns the backend (and its id) or NULL with *reason set to the drop reason.
// `now` is the coarse clock (jiffy resolution): all conntrack needs, as last_seen is refreshed once
// a second and the flood guard counts per second; the precise clock costs far more per packet.
static __always_inline struct lb_backend *select_backend(const struct lb_ct_key *key,
                                                         const struct lb_service *svc, __u64 now,
                                                         __u32 *backend_id,
                                                         enum lb_reason *reason) {
  struct lb_ct_value *ct = ct_lookup(key, now);
  if (ct) {
    struct lb_backend *b = backend_get(ct->backend_id);
    if (b) {
      *backend_id = ct->backend_id;
      return b;
    }
    // The backend is gone for good: the flow re-balances below (and its entry is overwritten).
  }
  if (svc->backend_count == 0 || svc->maglev_size == 0) {
    *reason = LB_R_DROP_NO_BACKEND;
    return 0;
  }
  __u32 slot = svc->maglev_base + lb_flow_hash(key) % svc->maglev_size;
  __u32 *id = bpf_map_lookup_elem(&lb_maglev, &slot);
  struct lb_backend *b = id ? backend_get(*id) : 0;
  if (!b) {
    *reason = LB_R_DROP_BAD_BACKEND;
    return 0;
  }
  *backend_id = *id;
  if (!ct_insert(key, *id, svc->id, now)) lb_count_reason(LB_R_CT_INSERT_SKIPPED, 0);
  return b;
}
