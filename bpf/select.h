// Backend choice for a flow to a VIP:port: the conntrack entry if one is live and its backend
// still exists, else the service's Maglev table indexed by the flow hash (remembered unless the
// flood guard refuses).
//
// The hit path takes one hash lookup: conntrack first, by the flow's full tuple, its service
// confirmed by id in the array lb_service_keys (lb_maps.h) instead of a lookup in lb_services.
// Only a miss, or an entry whose service id now holds another VIP:port, looks the service up. So
// that traffic for no VIP does not pay a conntrack lookup too, a hint bitmap (below) first says
// whether the destination may be a VIP:port at all.
#pragma once

#include "conntrack.h"
#include "flow_hash.h"
#include "lb_bpf_maps.h"

// Looks the flow's destination up as a VIP:port.
static __always_inline struct lb_service *service_lookup(const struct lb_ct_key *flow) {
  struct lb_vip_key vk = {};
  __builtin_memcpy(vk.addr, flow->dst, sizeof(vk.addr));
  vk.port = flow->dport;
  vk.proto = flow->proto;
  vk.family = flow->family;
  return bpf_map_lookup_elem(&lb_services, &vk);
}

// Destinations (address, port, protocol folded to 16 bits) seen as a VIP:port since the program
// was loaded, one bit each; learnt by the program, never cleared. A clear bit means "not a VIP:port
// so far": look the service up first and skip conntrack on a miss, as before the hit path took one
// lookup. A set bit that is stale (a VIP:port removed, or a collision) costs one conntrack miss.
#define LB_VIP_HINT_WORDS 1024  // 65,536 bits in 8 KiB
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, LB_VIP_HINT_WORDS);
  __type(key, __u32);
  __type(value, __u64);
} lb_vip_hint SEC(".maps");

static __always_inline __u32 vip_hint_bit(const struct lb_ct_key *flow) {
  __u32 h = flow->dst[0] ^ flow->dst[1] ^ flow->dst[2] ^ flow->dst[3] ^
            (((__u32)flow->dport << 8) | flow->proto);
  h ^= h >> 16;
  return h & 0xffff;
}

static __always_inline int vip_hint_test(const struct lb_ct_key *flow) {
  const __u32 bit = vip_hint_bit(flow), word = bit >> 6;
  const __u64 *w = bpf_map_lookup_elem(&lb_vip_hint, &word);
  return w && (*w & (1ull << (bit & 63)));
}

static __always_inline void vip_hint_set(const struct lb_ct_key *flow) {
  const __u32 bit = vip_hint_bit(flow), word = bit >> 6;
  __u64 *w = bpf_map_lookup_elem(&lb_vip_hint, &word);
  const __u64 mask = 1ull << (bit & 63);
  if (w && !(*w & mask)) __sync_fetch_and_or(w, mask);  // written once per bit, not per packet
}

// Whether the service a conntrack entry names is still the flow's own VIP:port.
static __always_inline int ct_service_live(const struct lb_ct_value *ct,
                                           const struct lb_ct_key *flow) {
  const __u32 id = ct->service_id;
  const struct lb_vip_key *k = bpf_map_lookup_elem(&lb_service_keys, &id);
  return k && k->addr[0] == flow->dst[0] && k->addr[1] == flow->dst[1] &&
         k->addr[2] == flow->dst[2] && k->addr[3] == flow->dst[3] && k->port == flow->dport &&
         k->proto == flow->proto && k->family == flow->family;
}

// How a packet to a possible VIP:port starts: its conntrack entry (NULL on a miss) and, unless
// that entry confirmed its service, the service (NULL: not a VIP:port, the packet is not ours).
struct vip_flow {
  struct lb_ct_value *ct;
  struct lb_service *svc;
  __u32 service_id;
};

// Returns 0 when the destination is no VIP:port.
static __always_inline int vip_flow_find(const struct lb_ct_key *flow, struct vip_flow *f) {
  f->ct = 0;
  f->svc = 0;
  const int hinted = vip_hint_test(flow);
  if (hinted) {
    f->ct = bpf_map_lookup_elem(&lb_conntrack, flow);
    if (f->ct && ct_service_live(f->ct, flow)) {
      f->service_id = f->ct->service_id;
      return 1;
    }
  }
  f->svc = service_lookup(flow);
  if (!f->svc) return 0;
  f->service_id = f->svc->id;
  if (!hinted) {
    vip_hint_set(flow);
    f->ct = bpf_map_lookup_elem(&lb_conntrack, flow);
  }
  return 1;
}

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
                                                         struct vip_flow *f, __u64 now,
                                                         __u32 *backend_id,
                                                         enum lb_reason *reason) {
  struct lb_ct_value *ct = f->ct;
  if (ct) {
    ct_touch(ct, now);
    struct lb_backend *b = backend_get(ct->backend_id);
    if (b) {
      *backend_id = ct->backend_id;
      return b;
    }
    // The backend is gone for good: the flow re-balances below (and its entry is overwritten).
  }
  const struct lb_service *svc = f->svc ? f->svc : service_lookup(key);
  if (!svc || svc->backend_count == 0 || svc->maglev_size == 0) {
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
