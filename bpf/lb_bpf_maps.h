// The BPF-side declarations of ironlb's maps (layouts from lb_maps.h). Every program includes
// this one header, so the pinned maps xdp_lb and tc_lb share always have identical definitions.
#pragma once

#include <bpf/bpf_helpers.h>
#include <linux/bpf.h>

#include "lb_maps.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, LB_MAX_SERVICES);
  __type(key, struct lb_vip_key);
  __type(value, struct lb_service);
} lb_services SEC(".maps");

// Indexed by lb_service.id, sized with lb_services (lb_maps.h: service ids).
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, LB_MAX_SERVICES);
  __type(key, __u32);
  __type(value, struct lb_vip_key);
} lb_service_keys SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, LB_MAX_BACKENDS);
  __type(key, __u32);
  __type(value, struct lb_backend);
} lb_backends SEC(".maps");

// All Maglev tables, one contiguous range per service (lb_service.maglev_base/size): a table's
// size follows its endpoint count, so small services stay small. Mappable, so the agent writes
// tables with plain stores: 10,000 tables are ~10 M slots, which cost 1.5 s as batch updates.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, LB_MAGLEV_RING_ENTRIES);
  __type(key, __u32);
  __type(value, __u32);  // backend id
} lb_maglev SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, LB_CT_ENTRIES);
  __type(key, struct lb_ct_key);
  __type(value, struct lb_ct_value);
} lb_conntrack SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, LB_MAX_BACKENDS);
  __type(key, struct lb_endpoint_key);
  __type(value, struct lb_endpoint_value);
} lb_endpoints SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct lb_node_addrs);
} lb_node SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, LB_MAX_SERVICES);
  __type(key, struct lb_vip_addr_key);
  __type(value, struct lb_vip_addr_value);
} lb_vip_addrs SEC(".maps");

// Not pinned: a datagram's fragments arrive within moments, an agent restart loses nothing.
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, LB_FRAG_ENTRIES);
  __type(key, struct lb_frag_key);
  __type(value, struct lb_frag_value);
} lb_frags SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, LB_MAX_L2_ENTRIES);
  __type(key, struct lb_l2_key);
  __type(value, struct lb_l2_value);
} lb_l2 SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct lb_l2_live);
} lb_l2_live SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, LB_MAX_L2_ENTRIES);
  __type(key, struct lb_l2_key);
  __type(value, struct lb_l2_counter);
} lb_l2_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, LB_MAX_IFACES);
  __type(key, __u32);  // ifindex
  __type(value, struct lb_iface);
} lb_ifaces SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, LB_MAX_SERVICES);
  __type(key, __u32);  // lb_service.id
  __type(value, struct lb_counter);
} lb_vip_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, LB_MAX_BACKENDS);
  __type(key, __u32);  // backend id
  __type(value, struct lb_counter);
} lb_backend_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, LB_R_MAX);
  __type(key, __u32);  // enum lb_reason
  __type(value, struct lb_counter);
} lb_reason_stats SEC(".maps");

static __always_inline void lb_count(void *map, __u32 index, __u64 bytes) {
  struct lb_counter *c = bpf_map_lookup_elem(map, &index);
  if (c) {
    c->packets += 1;
    c->bytes += bytes;
  }
}

static __always_inline void lb_count_reason(enum lb_reason r, __u64 bytes) {
  lb_count(&lb_reason_stats, r, bytes);
}
