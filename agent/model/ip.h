// IP addresses, prefixes and ranges for both families, with 128-bit arithmetic.
// Used by config validation, the allocator and the data plane; no I/O, no allocation.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ironlb {

using u128 = unsigned __int128;

enum class Family : uint8_t { kV4 = 4, kV6 = 6 };

inline const char* FamilyName(Family f) {
  return f == Family::kV4 ? "IPv4" : "IPv6";
}

// An address of either family. IPv4 is kept in the low 32 bits of `value()`, so ordering and
// arithmetic are plain integer operations within one family. Stored as four 32-bit words, most
// significant first, not as a u128: its 16-byte alignment made the address 32 bytes, and the
// agent holds one per endpoint several times over (20 bytes now; ordering is unchanged, as the
// words compare as the number does).
class IPAddr {
 public:
  IPAddr() = default;
  static IPAddr V4(uint32_t host_order) { return IPAddr(Family::kV4, host_order); }
  static IPAddr V6(u128 v) { return IPAddr(Family::kV6, v); }
  static IPAddr FromValue(Family f, u128 v) { return IPAddr(f, v); }
  // Strict parse: no surrounding whitespace, no zone, IPv4-mapped IPv6 stays IPv6.
  static std::optional<IPAddr> Parse(std::string_view s);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::kV4; }
  bool is_v6() const { return family_ == Family::kV6; }
  u128 value() const {
    return (u128(words_[0]) << 96) | (u128(words_[1]) << 64) | (u128(words_[2]) << 32) | words_[3];
  }
  int bits() const { return is_v4() ? 32 : 128; }
  // Network byte order: 4 bytes for IPv4, 16 for IPv6.
  std::array<uint8_t, 16> bytes() const;
  static IPAddr FromBytes(Family f, const uint8_t* bytes);
  std::string str() const;

  auto operator<=>(const IPAddr&) const = default;

 private:
  IPAddr(Family f, u128 v)
      : family_(f), words_{uint32_t(v >> 96), uint32_t(v >> 64), uint32_t(v >> 32), uint32_t(v)} {}
  Family family_ = Family::kV4;
  std::array<uint32_t, 4> words_{};
};
static_assert(sizeof(IPAddr) == 20);

struct IPPrefix {
  IPAddr addr;  // host bits cleared
  int length = 0;

  // Accepts host bits set ("198.51.100.10/24" means 198.51.100.0/24, as MetalLB does).
  static std::optional<IPPrefix> Parse(std::string_view s);
  // The prefix of `length` bits containing `a`; nullopt when length is outside 0..a.bits().
  static std::optional<IPPrefix> Containing(const IPAddr& a, int length);
  IPAddr first() const { return addr; }
  IPAddr last() const;
  u128 size() const;  // saturates at 2^128-1 for ::/0
  bool contains(const IPAddr& a) const;
  std::string str() const;
  auto operator<=>(const IPPrefix&) const = default;
};

// An inclusive address range; the unit pools are made of.
struct IPRange {
  IPAddr first;
  IPAddr last;

  Family family() const { return first.family(); }
  u128 size() const;  // saturating
  bool contains(const IPAddr& a) const {
    return a.family() == first.family() && first <= a && a <= last;
  }
  bool overlaps(const IPRange& o) const {
    return o.family() == family() && !(o.last < first || last < o.first);
  }
  // The minimal list of CIDRs covering this range, as MetalLB summarises ranges.
  std::vector<IPPrefix> ToPrefixes() const;
  std::string str() const;
  auto operator<=>(const IPRange&) const = default;
};

std::string U128ToString(u128 v);

// "a,b": addresses for logs and events.
std::string JoinIPs(const std::vector<IPAddr>& ips);

}  // namespace ironlb
