// Per-flow records for reverse translation (lb_flows): the node that hands a VIP flow to its
// endpoint writes (client, endpoint, protocol) -> VIP:port, and tc_lb rewrites a reply's source
// only when the reply matches one. Written on a flow's first packet and re-checked when conntrack
// refreshes it (once a second), or on every decapsulated packet, which has no conntrack here.
#pragma once

#include "lb_bpf_maps.h"

static __always_inline void flow_key_make(struct lb_flow_key *k, const struct lb_ct_key *flow,
                                          const __be32 endpoint[4], __be16 endpoint_port) {
  __builtin_memcpy(k->client, flow->src, sizeof(k->client));
  __builtin_memcpy(k->endpoint, endpoint, sizeof(k->endpoint));
  k->client_port = flow->sport;
  k->endpoint_port = endpoint_port;
  k->proto = flow->proto;
  k->family = flow->family;
}

// Records that the flow `flow` (client -> VIP:port) is delivered to endpoint:port. With `check`,
// the map is read first and written only when the record is missing or names another VIP, so a
// flow's steady state costs one lookup and no write.
static __always_inline void flow_record(const struct lb_ct_key *flow, const __be32 endpoint[4],
                                        __be16 endpoint_port, __u8 flags, int check) {
  struct lb_flow_key k = {};
  flow_key_make(&k, flow, endpoint, endpoint_port);
  if (check) {
    struct lb_flow_value *have = bpf_map_lookup_elem(&lb_flows, &k);
    if (have && have->vip_port == flow->dport && have->vip[0] == flow->dst[0] &&
        have->vip[1] == flow->dst[1] && have->vip[2] == flow->dst[2] &&
        have->vip[3] == flow->dst[3] && have->flags == flags)
      return;
  }
  struct lb_flow_value v = {};
  __builtin_memcpy(v.vip, flow->dst, sizeof(v.vip));
  v.vip_port = flow->dport;
  v.flags = flags;
  bpf_map_update_elem(&lb_flows, &k, &v, BPF_ANY);
}
