// Internet checksum helpers (RFC 1071 sums, RFC 1624 incremental updates) for the XDP program,
// built on bpf_csum_diff so IPv4 and IPv6 addresses update the same way.
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// Folds a 32/64-bit one's-complement sum to 16 bits and complements it.
static __always_inline __u16 csum_fold(__u64 sum) {
#pragma unroll
  for (int i = 0; i < 4; i++) sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)~sum;
}

// Rewrites checksum *check for `from` (size bytes, a multiple of 4) becoming `to`: RFC 1624
// eqn. 3, HC' = ~(~HC + ~m + m'), computed over whole words by bpf_csum_diff.
static __always_inline void csum_replace(__u16 *check, void *from, void *to, __u32 size) {
  __s64 sum = bpf_csum_diff(from, size, to, size, (__u16)~*check);
  if (sum >= 0) *check = csum_fold((__u64)sum);
}

// UDP over IPv4 may carry no checksum (RFC 768: transmitted as zero); keep it that way, and never
// produce zero for a real one (RFC 768: a computed zero is sent as all ones).
static __always_inline void csum_replace_udp(__u16 *check, void *from, void *to, __u32 size) {
  if (*check == 0) return;
  csum_replace(check, from, to, size);
  if (*check == 0) *check = 0xffff;
}
