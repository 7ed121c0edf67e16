// The flow hash that indexes Maglev tables: Bob Jenkins' lookup3 ("jhash2") over the
// conntrack key's 32-bit words. It must be the same on every node and across upgrades, or a
// flow that ECMP moves between nodes would land on another endpoint.
#pragma once

#include <linux/types.h>

#include "lb_maps.h"

#define LB_HASH_INITVAL 0xdeadbeef  // lookup3's published initial value
#define LB_HASH_SEED 0x1b1b0001     // fixed, never per node

static __always_inline __u32 rol32(__u32 w, unsigned s) { return (w << s) | (w >> (32 - s)); }

#define LB_JHASH_MIX(a, b, c)                  \
  do {                                         \
    a -= c; a ^= rol32(c, 4); c += b;          \
    b -= a; b ^= rol32(a, 6); a += c;          \
    c -= b; c ^= rol32(b, 8); b += a;          \
    a -= c; a ^= rol32(c, 16); c += b;         \
    b -= a; b ^= rol32(a, 19); a += c;         \
    c -= b; c ^= rol32(b, 4); b += a;          \
  } while (0)

#define LB_JHASH_FINAL(a, b, c)  \
  do {                           \
    c ^= b; c -= rol32(b, 14);   \
    a ^= c; a -= rol32(c, 11);   \
    b ^= a; b -= rol32(a, 25);   \
    c ^= b; c -= rol32(b, 16);   \
    a ^= c; a -= rol32(c, 4);    \
    b ^= a; b -= rol32(a, 14);   \
    c ^= b; c -= rol32(b, 24);   \
  } while (0)

#define LB_CT_KEY_WORDS (sizeof(struct lb_ct_key) / sizeof(__u32))

// lookup3 hashword() over the 10 words of the key (addresses, ports, proto, family).
static __always_inline __u32 lb_flow_hash(const struct lb_ct_key *key) {
  const __u32 *k = (const __u32 *)key;
  __u32 a, b, c;
  a = b = c = LB_HASH_INITVAL + ((__u32)LB_CT_KEY_WORDS << 2) + LB_HASH_SEED;
  // 10 words: three rounds of three, then the last word in the final mix.
  a += k[0]; b += k[1]; c += k[2];
  LB_JHASH_MIX(a, b, c);
  a += k[3]; b += k[4]; c += k[5];
  LB_JHASH_MIX(a, b, c);
  a += k[6]; b += k[7]; c += k[8];
  LB_JHASH_MIX(a, b, c);
  a += k[9];
  LB_JHASH_FINAL(a, b, c);
  return c;
}
