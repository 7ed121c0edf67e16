// The C++ view of bpf/lb_maps.h: includes the one shared header and pins its layout with
// static_asserts, so a field moved on one side fails the build instead of corrupting maps.
#pragma once

#include <cstddef>

#include "lb_maps.h"

static_assert(sizeof(lb_vip_key) == 20);
// A set of the flow cache is one cache line.
static_assert(sizeof(lb_flow_cache_set) == 64 && sizeof(lb_flow_cache_entry) == 32);
// XDP metadata is at most 32 bytes, in 4-byte units.
static_assert(sizeof(lb_xdp_meta) == 28);
static_assert(offsetof(lb_vip_key, port) == 16 && offsetof(lb_vip_key, family) == 19);
static_assert(sizeof(lb_service) == 24);
static_assert(offsetof(lb_service, maglev_base) == 12 && offsetof(lb_service, maglev_size) == 16);
static_assert(sizeof(lb_backend) == 40);
static_assert(offsetof(lb_backend, port) == 32 && offsetof(lb_backend, action) == 35 &&
              offsetof(lb_backend, flags) == 36);
static_assert(sizeof(lb_ct_key) == 40);
static_assert(offsetof(lb_ct_key, sport) == 32 && offsetof(lb_ct_key, family) == 37);
static_assert(sizeof(lb_ct_value) == 24 && offsetof(lb_ct_value, last_seen_ns) == 16);
static_assert(sizeof(lb_endpoint_key) == 20 && offsetof(lb_endpoint_key, family) == 19);
static_assert(sizeof(lb_endpoint_vip) == 20 && offsetof(lb_endpoint_vip, port) == 16);
static_assert(sizeof(lb_endpoint_value) == 88 && offsetof(lb_endpoint_value, vips) == 8);
static_assert(sizeof(lb_node_addrs) == 20);
static_assert(sizeof(lb_vip_addr_key) == 20 && offsetof(lb_vip_addr_key, family) == 16);
static_assert(sizeof(lb_vip_addr_value) == 4);
static_assert(sizeof(lb_frag_key) == 40 && offsetof(lb_frag_key, id) == 32);
static_assert(sizeof(lb_gue_hdr) == 4 && sizeof(lb_gue_priv4) == 8 && sizeof(lb_gue_priv6) == 20);
static_assert(sizeof(lb_l2_key) == 24 && offsetof(lb_l2_key, ifindex) == 16);
static_assert(sizeof(lb_l2_value) == 4);
static_assert(sizeof(lb_l2_live) == 16 && offsetof(lb_l2_live, max_age_ns) == 8);
static_assert(sizeof(lb_l2_counter) == 16);
static_assert(sizeof(lb_iface) == 16 && offsetof(lb_iface, tc_ingress_until_ns) == 8);
static_assert(sizeof(lb_counter) == 16);
static_assert(sizeof(lb_ct_rate) == 16);
static_assert(sizeof(lb_nexthop) == 36 && offsetof(lb_nexthop, mtu) == 20 &&
              offsetof(lb_nexthop, dmac) == 22 && offsetof(lb_nexthop, family) == 34);
static_assert(sizeof(lb_nexthop_live) == 8);
