// Internet checksum helpers (RFC 1071 sums, RFC 1624 incremental updates) for the XDP program,
// computed inline over 16-bit words: a NAT rewrite changes 4 to 20 bytes, for which a call to
// bpf_csum_diff costs several times the arithmetic (and a return thunk on mitigated CPUs).
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// Folds a 32/64-bit one's-complement sum to 16 bits and complements it.
static __always_inline __u16 csum_fold(__u64 sum) {
#pragma unroll
  for (int i = 0; i < 4; i++) sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)~sum;
}

// Rewrites checksum *check for `from` (size bytes, even, a compile-time constant) becoming `to`:
// RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'), one 16-bit word at a time. Sums of at most 11 words
// below 2^17 each cannot overflow 32 bits.
static __always_inline void csum_replace(__u16 *check, const void *from, const void *to,
                                         __u32 size) {
  const __u16 *f = from, *t = to;
  __u32 sum = (__u16)~*check;
#pragma unroll
  for (__u32 i = 0; i < size / 2; i++) sum += (__u16)~f[i] + (__u32)t[i];
  *check = csum_fold(sum);
}

// UDP over IPv4 may carry no checksum (RFC 768: transmitted as zero); keep it that way, and never
// produce zero for a real one (RFC 768: a computed zero is sent as all ones).
static __always_inline void csum_replace_udp(__u16 *check, const void *from, const void *to,
                                             __u32 size) {
  if (*check == 0) return;
  csum_replace(check, from, to, size);
  if (*check == 0) *check = 0xffff;
}

// The header checksum of a 20-byte IPv4 header (no options) whose check field is zero.
static __always_inline __u16 csum_ipv4_header(const void *hdr) {
  const __u16 *w = hdr;
  __u32 sum = 0;
#pragma unroll
  for (int i = 0; i < 10; i++) sum += w[i];
  return csum_fold(sum);
}
