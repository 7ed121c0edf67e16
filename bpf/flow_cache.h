// The per-CPU flow cache in front of conntrack for established IPv4 flows: one cache line read
// instead of a hash bucket and an element. What an entry means, and when it is believed: the
// lb_flow_cache_entry comment in lb_maps.h. select.h reads and fills it; whatever re-points an
// existing conntrack entry at another backend calls flow_cache_retire_all().
#pragma once

#include "flow_hash.h"
#include "lb_bpf_maps.h"

// Sets per CPU, a power of two; 0 turns the cache off (the agent sets it before load and sizes
// lb_flow_cache to sets x possible CPUs).
const volatile __u32 cfg_flow_cache_sets = 0;

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  // Mappable arrays keep their values page-aligned, so each 64-byte set is one cache line.
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, 1);  // sized by the agent
  __type(key, __u32);
  __type(value, struct lb_flow_cache_set);
} lb_flow_cache SEC(".maps");

// Pinned, so an agent's old and new programs (both attached for a moment during a restart) retire
// each other's copies too.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} lb_flow_gen SEC(".maps");

static __always_inline __u32 flow_cache_stamp(__u64 now) { return (__u32)(now >> 30); }

static __always_inline __u32 flow_cache_gen(void) {
  __u32 zero = 0;
  const __u32 *g = bpf_map_lookup_elem(&lb_flow_gen, &zero);
  return g ? *g : 0;
}

// Every CPU's copies stop being believed; each flow's next packet reads conntrack again.
static __always_inline void flow_cache_retire_all(void) {
  if (!cfg_flow_cache_sets) return;
  __u32 zero = 0;
  __u32 *g = bpf_map_lookup_elem(&lb_flow_gen, &zero);
  if (g) __sync_fetch_and_add(g, 1);
}

static __always_inline __be32 flow_cache_ports(const struct lb_ct_key *flow) {
  return (__be32)flow->sport | ((__be32)flow->dport << 16);
}

// This CPU's set for an IPv4 flow, or NULL (cache off, IPv6).
static __always_inline struct lb_flow_cache_set *flow_cache_set(const struct lb_ct_key *flow) {
  const __u32 sets = cfg_flow_cache_sets;
  if (!sets || flow->family != LB_FAMILY_V4) return 0;
  // A cheap mix (a multiply and two folds): a set index, not Maglev's placement hash.
  __u32 h = (flow->src[0] ^ rol32(flow_cache_ports(flow), 7)) * 0x9e3779b1u ^ flow->dst[0];
  h = (h ^ (h >> 16)) * 0x85ebca6bu;
  h ^= h >> 13;
  __u32 index = bpf_get_smp_processor_id() * sets + (h & (sets - 1));
  return bpf_map_lookup_elem(&lb_flow_cache, &index);
}

static __always_inline int flow_cache_match(const struct lb_flow_cache_entry *e,
                                            const struct lb_ct_key *flow, __be32 ports) {
  return e->src == flow->src[0] && e->dst == flow->dst[0] && e->ports == ports &&
         e->proto == flow->proto;
}

// The way holding a believable copy for the flow, or NULL. `gen` is lb_flow_gen as read before
// the caller looks at conntrack.
static __always_inline struct lb_flow_cache_entry *flow_cache_find(struct lb_flow_cache_set *set,
                                                                   const struct lb_ct_key *flow,
                                                                   __u64 now, __u32 gen) {
  const __be32 ports = flow_cache_ports(flow);
  struct lb_flow_cache_entry *e = &set->way[0];
  if (!flow_cache_match(e, flow, ports)) {
    e = &set->way[1];
    if (!flow_cache_match(e, flow, ports)) return 0;
  }
  return e->stamp == flow_cache_stamp(now) && e->gen == gen ? e : 0;
}

static __always_inline int flow_cache_fresh(const struct lb_flow_cache_entry *e, __u64 now,
                                            __u32 gen) {
  return e->proto && e->stamp == flow_cache_stamp(now) && e->gen == gen;
}

// Copies what conntrack said of the flow into its set: over the flow's own way if it has one (a
// stale copy), else into a way that is empty or stale. Two believable copies of other flows are
// left alone: when more flows than ways share a set they take turns within the second instead
// of evicting each other on every packet (at 100,000 flows on one CPU that thrashing cost more
// than the copies saved), and a set's first two flows of a second keep it. `gen` must have been
// read before conntrack was, so a re-balance on another CPU in between retires this copy at once.
static __always_inline void flow_cache_fill(struct lb_flow_cache_set *set,
                                            const struct lb_ct_key *flow, __u32 backend_id,
                                            __u32 service_id, __u64 now, __u32 gen) {
  const __be32 ports = flow_cache_ports(flow);
  struct lb_flow_cache_entry *e = &set->way[0];
  if (!flow_cache_match(e, flow, ports)) {
    e = &set->way[1];
    if (!flow_cache_match(e, flow, ports)) {
      if (!flow_cache_fresh(&set->way[0], now, gen))
        e = &set->way[0];
      else if (flow_cache_fresh(e, now, gen))
        return;
      e->src = flow->src[0];
      e->dst = flow->dst[0];
      e->ports = ports;
      e->proto = flow->proto;
    }
  }
  e->backend_id = backend_id;
  e->service_id = service_id;
  e->stamp = flow_cache_stamp(now);
  e->gen = gen;
}
