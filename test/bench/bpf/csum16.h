// RFC 1624 incremental checksum updates for the benchmarks' own XDP programs (the minimal DNAT
// ceiling and the traffic generator); bench-only, apart from the product's bpf/csum.h on purpose.
#pragma once

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

// RFC 1624 eqn. 3 for one 16-bit word: HC' = ~(~HC + ~m + m').
static __always_inline __u16 csum16_update(__u16 check, __u16 from, __u16 to) {
  __u32 sum = (__u16)~check + (__u16)~from + to;
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)~sum;
}

static __always_inline __u16 csum32_update(__u16 check, __u32 from, __u32 to) {
  check = csum16_update(check, (__u16)from, (__u16)to);
  return csum16_update(check, (__u16)(from >> 16), (__u16)(to >> 16));
}
