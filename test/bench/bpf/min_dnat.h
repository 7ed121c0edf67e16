// Configuration of the benchmarks' minimal DNAT + redirect program (min_dnat.bpf.c), shared by
// the BPF side and the benchmarks that fill it. Benchmark-only; not a product layout.
#pragma once

#include <linux/types.h>

#define MIN_DNAT_MAX_ENDPOINTS 4

struct min_dnat_endpoint {
  __be32 addr;
  __be16 port;
  __u8 mac[6];
  __u32 ifindex;
};

struct min_dnat_config {
  __be32 vip;
  __be16 vip_port;
  __u8 proto;
  __u8 count;  // endpoints in use
  __u8 src_mac[6];
  __u8 pad[2];
  struct min_dnat_endpoint endpoints[MIN_DNAT_MAX_ENDPOINTS];
};
