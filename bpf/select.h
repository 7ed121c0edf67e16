// Backend choice for a flow to a VIP:port: the conntrack entry if one is live and its backend
// still exists, else the service's Maglev table indexed by the flow hash (remembered unless the
// flood guard refuses).
//
// The hit path takes one hash lookup at most: conntrack first, by the flow's full tuple, its
// service confirmed by id in the array lb_service_keys (lb_maps.h) instead of a lookup in
// lb_services; for IPv4 the CPU's flow cache (flow_cache.h) first, whose copy of the entry spares
// even that lookup within its second. Only a miss, or an entry whose service id now holds another
// VIP:port, looks the service up. So that traffic for no VIP does not pay a conntrack lookup too,
// a hint bitmap (below) first says whether the destination may be a VIP:port at all.
#pragma once

#include "conntrack.h"
#include "flow_cache.h"
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

// Whether the service id a conntrack entry (or its cached copy) names is still the flow's own
// VIP:port.
static __always_inline int service_id_live(__u32 id, const struct lb_ct_key *flow) {
  const struct lb_vip_key *k = bpf_map_lookup_elem(&lb_service_keys, &id);
  return k && k->addr[0] == flow->dst[0] && k->addr[1] == flow->dst[1] &&
         k->addr[2] == flow->dst[2] && k->addr[3] == flow->dst[3] && k->port == flow->dport &&
         k->proto == flow->proto && k->family == flow->family;
}

// How a packet to a possible VIP:port starts: a believable flow-cache copy of its conntrack entry
// (IPv4), else its conntrack entry (NULL on a miss) and, unless either confirmed its service, the
// service (NULL: not a VIP:port, the packet is not ours).
struct vip_flow {
  struct lb_flow_cache_entry *fc;  // a hit: conntrack was not read
  struct lb_ct_value *ct;
  struct lb_service *svc;
  __u32 service_id;
  struct lb_flow_cache_set *fc_set;  // this CPU's set for the flow, to fill; NULL: no cache
  __u32 fc_gen;                      // lb_flow_gen, read before conntrack
  __u64 now;                         // the coarse clock if read already, else 0
};

// The flow's set in this CPU's flow cache (IPv4, cache on), with what a copy is judged by: the
// clock, and lb_flow_gen read before conntrack is.
static __always_inline void vip_flow_cache_set(const struct lb_ct_key *flow, struct vip_flow *f) {
  f->fc_set = flow_cache_set(flow);
  if (!f->fc_set) return;
  f->now = bpf_ktime_get_coarse_ns();
  f->fc_gen = flow_cache_gen();
}

// Returns 0 when the destination is no VIP:port. `opening` (a TCP SYN: a new flow, or one
// starting again on the same ports) skips the flow cache, which cannot hold it yet: a SYN flood
// then reads and writes no cache line of it.
static __always_inline int vip_flow_find(const struct lb_ct_key *flow, int opening,
                                         struct vip_flow *f) {
  f->fc = 0;
  f->ct = 0;
  f->svc = 0;
  f->fc_set = 0;
  f->now = 0;
  const int hinted = vip_hint_test(flow);
  if (hinted) {
    if (!opening) vip_flow_cache_set(flow, f);
    if (f->fc_set) {
      f->fc = flow_cache_find(f->fc_set, flow, f->now, f->fc_gen);
      if (f->fc && service_id_live(f->fc->service_id, flow)) {
        f->service_id = f->fc->service_id;
        return 1;
      }
      f->fc = 0;
    }
    f->ct = bpf_map_lookup_elem(&lb_conntrack, flow);
    if (f->ct && service_id_live(f->ct->service_id, flow)) {
      f->service_id = f->ct->service_id;
      return 1;
    }
  }
  f->svc = service_lookup(flow);
  if (!f->svc) return 0;
  f->service_id = f->svc->id;
  if (!hinted) {
    vip_hint_set(flow);
    if (!opening) vip_flow_cache_set(flow, f);
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
  if (f->fc) {
    const __u32 id = f->fc->backend_id;
    struct lb_backend *b = backend_get(id);
    if (b) {
      *backend_id = id;
      return b;
    }
    // Gone, so conntrack's entry names a backend that is gone too: re-balanced below.
    ct = bpf_map_lookup_elem(&lb_conntrack, key);
  }
  if (ct) {
    ct_touch(ct, now);
    const __u32 id = ct->backend_id;
    struct lb_backend *b = backend_get(id);
    if (b) {
      *backend_id = id;
      if (f->fc_set) flow_cache_fill(f->fc_set, key, id, f->service_id, now, f->fc_gen);
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
  if (!ct_insert(key, *id, svc->id, now))
    lb_count_reason(LB_R_CT_INSERT_SKIPPED, 0);
  else if (ct)  // an entry pointed at another backend now: no CPU may believe a copy of it
    flow_cache_retire_all();
  // Not copied yet: a flow's second packet copies its entry (a conntrack hit), so a flood of
  // one-packet flows writes nothing here.
  return b;
}
