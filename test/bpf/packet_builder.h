// A small packet builder for the BPF tests: Ethernet (+802.1Q), ARP, IPv4 (with options), IPv6
// (and its fragments), TCP (with options), UDP and NDP, every checksum computed from scratch
// (RFC 1071) so that a test's expected frame is an independent statement of what correct output is.
#pragma once

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/ip.h"

namespace ironlb::testpkt {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;

inline constexpr uint16_t kEthIPv4 = 0x0800;
inline constexpr uint16_t kEthARP = 0x0806;
inline constexpr uint16_t kEthIPv6 = 0x86dd;
inline constexpr uint16_t kEth8021Q = 0x8100;
inline constexpr uint8_t kProtoTCP = 6;
inline constexpr uint8_t kProtoUDP = 17;
inline constexpr uint8_t kProtoICMPv6 = 58;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpAck = 0x10;

inline IPAddr Addr(const std::string& s) {
  auto a = IPAddr::Parse(s);
  if (!a) throw std::invalid_argument("bad address " + s);
  return *a;
}

inline Bytes AddrBytes(const IPAddr& a) {
  auto b = a.bytes();
  return Bytes(b.begin(), b.begin() + (a.is_v4() ? 4 : 16));
}

inline void Put16(Bytes& b, uint16_t v) {
  b.push_back(v >> 8);
  b.push_back(v & 0xff);
}
inline void Put32(Bytes& b, uint32_t v) {
  Put16(b, v >> 16);
  Put16(b, v & 0xffff);
}
inline void Append(Bytes& b, const Bytes& more) {
  b.insert(b.end(), more.begin(), more.end());
}

// RFC 1071 one's-complement sum, not yet complemented.
inline uint32_t Sum16(const Bytes& b, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < b.size(); i += 2) sum += (b[i] << 8) | b[i + 1];
  if (b.size() % 2) sum += b.back() << 8;
  return sum;
}
inline uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}
inline uint16_t Checksum(const Bytes& b) {
  return Fold(Sum16(b));
}

// Pseudo-header sum (RFC 793 / RFC 768 for IPv4, RFC 8200 8.1 for IPv6).
inline uint32_t PseudoSum(const IPAddr& src, const IPAddr& dst, uint8_t proto, size_t len) {
  Bytes ph = AddrBytes(src);
  Append(ph, AddrBytes(dst));
  if (src.is_v4()) {
    ph.push_back(0);
    ph.push_back(proto);
    Put16(ph, static_cast<uint16_t>(len));
  } else {
    Put32(ph, static_cast<uint32_t>(len));
    Put32(ph, proto);
  }
  return Sum16(ph);
}

inline void SetChecksum(Bytes& b, size_t at, uint16_t v) {
  b[at] = v >> 8;
  b[at + 1] = v & 0xff;
}

struct L4 {
  uint8_t proto = kProtoTCP;
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint8_t tcp_flags = kTcpSyn;
  Bytes payload;
  bool udp_zero_checksum = false;  // IPv4 UDP sent without a checksum
};

// TCP options (RFC 9293 3.2): maximum segment size, and a SYN-ACK's usual set as Linux orders it.
inline Bytes TcpOptMss(uint16_t mss) {
  Bytes o = {2, 4};
  Put16(o, mss);
  return o;
}
inline Bytes LinuxSynAckOptions(uint16_t mss) {
  Bytes o = TcpOptMss(mss);
  Append(o, Bytes{4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7});  // SACK ok, TS, NOP, WS 7
  return o;
}

// TCP or UDP segment with its checksum over the pseudo-header of src -> dst; TCP with
// `tcp_options` (a multiple of 4 bytes) if given.
inline Bytes Segment(const IPAddr& src, const IPAddr& dst, const L4& l4,
                     const Bytes& tcp_options = {}) {
  Bytes s;
  Put16(s, l4.sport);
  Put16(s, l4.dport);
  size_t csum_at;
  if (l4.proto == kProtoTCP) {
    Put32(s, 1000);  // seq
    Put32(s, l4.tcp_flags & kTcpAck ? 2000 : 0);
    s.push_back(static_cast<uint8_t>((5 + tcp_options.size() / 4) << 4));  // data offset
    s.push_back(l4.tcp_flags);
    Put16(s, 65535);  // window
    csum_at = s.size();
    Put16(s, 0);
    Put16(s, 0);  // urgent
    Append(s, tcp_options);
  } else {
    Put16(s, static_cast<uint16_t>(8 + l4.payload.size()));
    csum_at = s.size();
    Put16(s, 0);
  }
  Append(s, l4.payload);
  if (l4.proto == kProtoUDP && l4.udp_zero_checksum) return s;
  uint16_t c = Fold(Sum16(s, PseudoSum(src, dst, l4.proto, s.size())));
  if (l4.proto == kProtoUDP && c == 0) c = 0xffff;
  SetChecksum(s, csum_at, c);
  return s;
}

struct IPv4Opts {
  uint8_t ttl = 64;
  Bytes options;  // must be a multiple of 4 bytes
  uint16_t id = 0x1234;
  uint16_t frag = 0x4000;  // DF
};

inline Bytes IPv4(const IPAddr& src, const IPAddr& dst, uint8_t proto, const Bytes& payload,
                  const IPv4Opts& o = {}) {
  Bytes h;
  const size_t hlen = 20 + o.options.size();
  h.push_back(0x40 | static_cast<uint8_t>(hlen / 4));
  h.push_back(0);
  Put16(h, static_cast<uint16_t>(hlen + payload.size()));
  Put16(h, o.id);
  Put16(h, o.frag);
  h.push_back(o.ttl);
  h.push_back(proto);
  Put16(h, 0);
  Append(h, AddrBytes(src));
  Append(h, AddrBytes(dst));
  Append(h, o.options);
  SetChecksum(h, 10, Checksum(h));
  Append(h, payload);
  return h;
}

inline Bytes IPv6(const IPAddr& src, const IPAddr& dst, uint8_t nexthdr, const Bytes& payload,
                  uint8_t hop_limit = 64) {
  Bytes h;
  Put32(h, 0x60000000);
  Put16(h, static_cast<uint16_t>(payload.size()));
  h.push_back(nexthdr);
  h.push_back(hop_limit);
  Append(h, AddrBytes(src));
  Append(h, AddrBytes(dst));
  Append(h, payload);
  return h;
}

inline constexpr uint8_t kNextHdrFragment = 44;

// An IPv6 fragment (RFC 8200 4.5): the Fragment header first, then `part`, the bytes of the
// datagram's payload from `offset` (a multiple of 8 unless it is the last).
inline Bytes IPv6Fragment(const IPAddr& src, const IPAddr& dst, uint8_t proto, const Bytes& part,
                          uint32_t id, uint16_t offset, bool more, uint8_t hop_limit = 64) {
  Bytes f = {proto, 0};
  Put16(f, static_cast<uint16_t>(offset | (more ? 1 : 0)));
  Put32(f, id);
  Append(f, part);
  return IPv6(src, dst, kNextHdrFragment, f, hop_limit);
}

inline Bytes Ether(const Mac& dst, const Mac& src, uint16_t type, const Bytes& payload,
                   std::optional<uint16_t> vlan = std::nullopt) {
  Bytes f(dst.begin(), dst.end());
  f.insert(f.end(), src.begin(), src.end());
  if (vlan) {
    Put16(f, kEth8021Q);
    Put16(f, *vlan);
  }
  Put16(f, type);
  Append(f, payload);
  return f;
}

// A whole TCP/UDP frame from client to server.
inline Bytes L4Frame(const Mac& dst_mac, const Mac& src_mac, const IPAddr& src, const IPAddr& dst,
                     const L4& l4, const IPv4Opts& v4 = {},
                     std::optional<uint16_t> vlan = std::nullopt) {
  Bytes seg = Segment(src, dst, l4);
  if (src.is_v4())
    return Ether(dst_mac, src_mac, kEthIPv4, IPv4(src, dst, l4.proto, seg, v4), vlan);
  return Ether(dst_mac, src_mac, kEthIPv6, IPv6(src, dst, l4.proto, seg, v4.ttl), vlan);
}

inline Bytes Arp(uint16_t op, const Mac& sha, const IPAddr& spa, const Mac& tha,
                 const IPAddr& tpa) {
  Bytes a;
  Put16(a, 1);  // Ethernet
  Put16(a, kEthIPv4);
  a.push_back(6);
  a.push_back(4);
  Put16(a, op);
  a.insert(a.end(), sha.begin(), sha.end());
  Append(a, AddrBytes(spa));
  a.insert(a.end(), tha.begin(), tha.end());
  Append(a, AddrBytes(tpa));
  return a;
}

// Neighbor Solicitation (type 135) or Advertisement (136) with one link-layer address option
// (source for NS: type 1, target for NA: type 2) unless `lladdr` is empty.
inline Bytes NdMessage(uint8_t type, uint8_t flags, const IPAddr& src, const IPAddr& dst,
                       const IPAddr& target, std::optional<Mac> lladdr) {
  Bytes m;
  m.push_back(type);
  m.push_back(0);
  Put16(m, 0);
  m.push_back(flags);
  m.push_back(0);
  m.push_back(0);
  m.push_back(0);
  Append(m, AddrBytes(target));
  if (lladdr) {
    m.push_back(type == 135 ? 1 : 2);
    m.push_back(1);
    m.insert(m.end(), lladdr->begin(), lladdr->end());
  }
  SetChecksum(m, 2, Fold(Sum16(m, PseudoSum(src, dst, kProtoICMPv6, m.size()))));
  return m;
}

// Verifies the IPv4 header checksum and the TCP/UDP checksum of an untagged IPv4 or IPv6 frame.
inline bool ChecksumsValid(const Bytes& f, size_t l3 = 14) {
  const bool v4 = (f[l3] >> 4) == 4;
  size_t l4, len;
  uint8_t proto;
  IPAddr src, dst;
  if (v4) {
    const size_t hlen = (f[l3] & 0xf) * 4;
    if (Checksum(Bytes(f.begin() + l3, f.begin() + l3 + hlen)) != 0) return false;
    l4 = l3 + hlen;
    len = ((f[l3 + 2] << 8) | f[l3 + 3]) - hlen;
    proto = f[l3 + 9];
    src = IPAddr::FromBytes(Family::kV4, &f[l3 + 12]);
    dst = IPAddr::FromBytes(Family::kV4, &f[l3 + 16]);
  } else {
    l4 = l3 + 40;
    len = (f[l3 + 4] << 8) | f[l3 + 5];
    proto = f[l3 + 6];
    src = IPAddr::FromBytes(Family::kV6, &f[l3 + 8]);
    dst = IPAddr::FromBytes(Family::kV6, &f[l3 + 24]);
  }
  Bytes seg(f.begin() + l4, f.begin() + l4 + len);
  if (proto == kProtoUDP && v4 && seg[6] == 0 && seg[7] == 0) return true;
  return Fold(Sum16(seg, PseudoSum(src, dst, proto, seg.size()))) == 0;
}

}  // namespace ironlb::testpkt
