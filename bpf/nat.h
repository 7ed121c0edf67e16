// Destination NAT towards the chosen endpoint, IPv4 and IPv6: rewrite address and port and fix
// the IPv4 header and TCP/UDP checksums incrementally (the client address is left as it was).
#pragma once

#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include "csum.h"
#include "lb_maps.h"

// What the L4 checksum covers of what changes: the address (pseudo-header) and the port, as
// whole 32-bit words for bpf_csum_diff.
struct nat4_delta {
  __be32 addr;
  __u32 port;  // port in the low-addressed 16 bits, zero after: sums like the 16-bit field
};

struct nat6_delta {
  __be32 addr[4];
  __u32 port;
};

// l4 has been checked to hold a full TCP or UDP header.
static __always_inline void l4_csum_apply(void *l4, __u8 proto, void *from, void *to, __u32 n) {
  if (proto == IPPROTO_TCP)
    csum_replace(&((struct tcphdr *)l4)->check, from, to, n);
  else
    csum_replace_udp(&((struct udphdr *)l4)->check, from, to, n);
}

// Port words are at the same place in TCP and UDP: source then destination.
struct l4_ports {
  __be16 source;
  __be16 dest;
};

static __always_inline void dnat4(struct iphdr *ip, void *l4, __u8 proto,
                                  const struct lb_backend *b) {
  struct l4_ports *ports = l4;
  struct nat4_delta from = {.addr = ip->daddr, .port = ports->dest};
  struct nat4_delta to = {.addr = b->addr[0], .port = b->port};
  csum_replace(&ip->check, &from.addr, &to.addr, sizeof(from.addr));
  l4_csum_apply(l4, proto, &from, &to, sizeof(from));
  ip->daddr = to.addr;
  ports->dest = b->port;
}

static __always_inline void dnat6(struct ipv6hdr *ip6, void *l4, __u8 proto,
                                  const struct lb_backend *b) {
  struct l4_ports *ports = l4;
  struct nat6_delta from = {.port = ports->dest};
  struct nat6_delta to = {.port = b->port};
  __builtin_memcpy(from.addr, ip6->daddr.in6_u.u6_addr32, sizeof(from.addr));
  __builtin_memcpy(to.addr, b->addr, sizeof(to.addr));
  l4_csum_apply(l4, proto, &from, &to, sizeof(from));
  __builtin_memcpy(ip6->daddr.in6_u.u6_addr32, to.addr, sizeof(to.addr));
  ports->dest = b->port;
}

// The destination address alone, for a datagram's later fragments.
static __always_inline void dnat4_addr(struct iphdr *ip, __be32 endpoint) {
  const __be32 from = ip->daddr;
  csum_replace(&ip->check, &from, &endpoint, sizeof(from));
  ip->daddr = endpoint;
}

// TTL decrement as a router does it (RFC 1812 5.3.1), with the header checksum adjusted.
static __always_inline void ipv4_decrease_ttl(struct iphdr *ip) {
  __u32 from = *(__u16 *)&ip->ttl;  // ttl and protocol share one checksummed 16-bit word
  ip->ttl--;
  __u32 to = *(__u16 *)&ip->ttl;
  csum_replace(&ip->check, &from, &to, sizeof(from));
}
