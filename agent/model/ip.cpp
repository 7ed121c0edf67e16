#include "model/ip.h"

#include <arpa/inet.h>

#include <cstring>

namespace ironlb {

std::optional<IPAddr> IPAddr::Parse(std::string_view s) {
  if (s.empty() || s.size() > INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN + 1];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  uint8_t raw[16];
  if (s.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, raw) != 1) return std::nullopt;
    return FromBytes(Family::kV4, raw);
  }
  if (inet_pton(AF_INET6, buf, raw) != 1) return std::nullopt;
  return FromBytes(Family::kV6, raw);
}

IPAddr IPAddr::FromBytes(Family f, const uint8_t* b) {
  const int n = f == Family::kV4 ? 4 : 16;
  u128 v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | b[i];
  return IPAddr(f, v);
}

std::array<uint8_t, 16> IPAddr::bytes() const {
  std::array<uint8_t, 16> out{};
  const int n = is_v4() ? 4 : 16;
  u128 v = value();
  for (int i = n - 1; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
  return out;
}

std::string IPAddr::str() const {
  char buf[INET6_ADDRSTRLEN];
  auto b = bytes();
  inet_ntop(is_v4() ? AF_INET : AF_INET6, b.data(), buf, sizeof buf);
  return buf;
}

static u128 HostMask(int bits, int length) {
  const int host = bits - length;
  if (host <= 0) return 0;
  if (host >= 128) return ~u128(0);
  return (u128(1) << host) - 1;
}

std::optional<IPPrefix> IPPrefix::Parse(std::string_view s) {
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = IPAddr::Parse(s.substr(0, slash));
  if (!addr) return std::nullopt;
  auto len_s = s.substr(slash + 1);
  if (len_s.empty() || len_s.size() > 3) return std::nullopt;
  int len = 0;
  for (char c : len_s) {
    if (c < '0' || c > '9') return std::nullopt;
    len = len * 10 + (c - '0');
  }
  if (len > addr->bits()) return std::nullopt;
  IPPrefix p;
  p.length = len;
  p.addr = IPAddr::FromValue(addr->family(), addr->value() & ~HostMask(addr->bits(), len));
  return p;
}

IPAddr IPPrefix::last() const {
  return IPAddr::FromValue(addr.family(), addr.value() | HostMask(addr.bits(), length));
}

u128 IPPrefix::size() const {
  const u128 m = HostMask(addr.bits(), length);
  return m == ~u128(0) ? m : m + 1;
}

bool IPPrefix::contains(const IPAddr& a) const {
  return a.family() == addr.family() && first() <= a && a <= last();
}

std::string IPPrefix::str() const {
  return addr.str() + "/" + std::to_string(length);
}

u128 IPRange::size() const {
  const u128 d = last.value() - first.value();
  return d == ~u128(0) ? d : d + 1;
}

std::vector<IPPrefix> IPRange::ToPrefixes() const {
  std::vector<IPPrefix> out;
  const int bits = first.bits();
  u128 cur = first.value();
  const u128 end = last.value();
  while (true) {
    // Largest aligned block starting at cur that does not pass end.
    int host = 0;
    while (host < bits) {
      const u128 block = u128(1) << host;
      if ((cur & block) != 0) break;
      const u128 next_last = cur | ((u128(1) << (host + 1)) - 1);
      if (host + 1 >= 128 || next_last > end) break;
      ++host;
    }
    if (host == 127 && bits == 128 && cur == 0 && end == ~u128(0)) host = 128;
    out.push_back(IPPrefix{IPAddr::FromValue(first.family(), cur), bits - host});
    const u128 blk_last = host >= 128 ? ~u128(0) : cur | ((u128(1) << host) - 1);
    if (blk_last >= end) break;
    cur = blk_last + 1;
  }
  return out;
}

std::string IPRange::str() const {
  return first.str() + "-" + last.str();
}

std::string U128ToString(u128 v) {
  if (v == 0) return "0";
  std::string s;
  while (v) {
    s.insert(s.begin(), char('0' + int(v % 10)));
    v /= 10;
  }
  return s;
}

std::optional<IPPrefix> IPPrefix::Containing(const IPAddr& a, int length) {
  if (length < 0 || length > a.bits()) return std::nullopt;
  const int host = a.bits() - length;
  const u128 host_mask = host == 0 ? 0 : host == 128 ? ~u128{0} : (u128{1} << host) - 1;
  return IPPrefix{IPAddr::FromValue(a.family(), a.value() & ~host_mask), length};
}

std::string JoinIPs(const std::vector<IPAddr>& ips) {
  std::string s;
  for (const auto& ip : ips) s += (s.empty() ? "" : ",") + ip.str();
  return s;
}

}  // namespace ironlb
