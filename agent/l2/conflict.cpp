#include "l2/conflict.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace ironlb::l2 {
namespace {

constexpr size_t kEthHeaderLen = 14;
constexpr size_t kArpIpv4Len = 28;  // RFC 826 with hln 6, pln 4
constexpr uint16_t kArpHrdEther = 1;
constexpr uint16_t kEthPIp = 0x0800;
constexpr size_t kIpv6HeaderLen = 40;
constexpr size_t kNaLen = 24;  // ICMPv6 header with flags, then the target
constexpr uint8_t kIpProtoIcmpv6 = 58;
constexpr uint8_t kNdNeighborAdvert = 136;
constexpr uint8_t kNdHopLimit = 255;
constexpr uint8_t kNdOptTargetLl = 2;

uint16_t Get16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

}  // namespace

std::optional<ArpClaim> ParseArpClaim(std::span<const uint8_t> f) {
  if (f.size() < kEthHeaderLen + kArpIpv4Len || Get16(f.data() + 12) != ETH_P_ARP)
    return std::nullopt;
  const uint8_t* a = f.data() + kEthHeaderLen;
  if (Get16(a) != kArpHrdEther || Get16(a + 2) != kEthPIp || a[4] != 6 || a[5] != 4)
    return std::nullopt;
  ArpClaim c;
  std::memcpy(c.sender_mac.data(), a + 8, 6);
  c.sender_ip = IPAddr::FromBytes(Family::kV4, a + 14);
  if (c.sender_ip.value() == 0) return std::nullopt;  // an ARP probe (RFC 5227) claims nothing
  return c;
}

std::optional<ArpClaim> ParseNaClaim(std::span<const uint8_t> f) {
  if (f.size() < kEthHeaderLen + kIpv6HeaderLen + kNaLen || Get16(f.data() + 12) != ETH_P_IPV6)
    return std::nullopt;
  const uint8_t* ip6 = f.data() + kEthHeaderLen;
  if ((ip6[0] >> 4) != 6 || ip6[6] != kIpProtoIcmpv6 || ip6[7] != kNdHopLimit) return std::nullopt;
  const uint8_t* na = ip6 + kIpv6HeaderLen;
  if (na[0] != kNdNeighborAdvert || na[1] != 0) return std::nullopt;
  ArpClaim c;
  std::memcpy(c.sender_mac.data(), f.data() + 6, 6);
  c.sender_ip = IPAddr::FromBytes(Family::kV6, na + 8);
  // Options, each a multiple of 8 bytes: the target link-layer address is who the NA says holds
  // the target (a proxy may send it from another MAC).
  const size_t payload =
      std::min<size_t>(Get16(ip6 + 4), f.size() - kEthHeaderLen - kIpv6HeaderLen);
  for (size_t off = kNaLen; off + 8 <= payload;) {
    const uint8_t* opt = na + off;
    if (opt[1] == 0) return std::nullopt;  // RFC 4861 4.6: a zero length invalidates the packet
    if (opt[0] == kNdOptTargetLl && opt[1] == 1) {
      std::memcpy(c.sender_mac.data(), opt + 2, 6);
      break;
    }
    off += size_t{opt[1]} * 8;
  }
  return c;
}

namespace {

// Only Neighbor Advertisements reach the NDP socket: without a filter it would copy every IPv6
// packet of a busy uplink to this process. Ethernet, IPv6 without extension headers, ICMPv6.
sock_fprog* NaFilter() {
  static sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 5),
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, kEthHeaderLen + 6),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kIpProtoIcmpv6, 0, 3),
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, kEthHeaderLen + kIpv6HeaderLen),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kNdNeighborAdvert, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 256),
      BPF_STMT(BPF_RET | BPF_K, 0),
  };
  static sock_fprog prog{static_cast<unsigned short>(std::size(code)), code};
  return &prog;
}

int PacketSocket(uint16_t proto, const sock_fprog* filter, const char* what) {
  const int s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(proto));
  if (s < 0)
    throw std::runtime_error(std::string("AF_PACKET ") + what + " socket: " + strerror(errno));
  if (filter && setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, filter, sizeof(*filter)) != 0) {
    const int err = errno;
    close(s);
    throw std::runtime_error(std::string("filter on the ") + what + " socket: " + strerror(err));
  }
  return s;
}

}  // namespace

ArpWatch::ArpWatch(boost::asio::io_context& io,
                   std::function<void(uint32_t, const ArpClaim&)> claim)
    : fd_(io), nd_fd_(io), claim_(std::move(claim)) {
  fd_.assign(PacketSocket(ETH_P_ARP, nullptr, "ARP"));
  nd_fd_.assign(PacketSocket(ETH_P_IPV6, NaFilter(), "NDP"));
  // Frames queued before the filter was attached may be anything: the parser judges each.
  Wait(fd_, false);
  Wait(nd_fd_, true);
}

ArpWatch::~ArpWatch() {
  boost::system::error_code ec;
  fd_.close(ec);
  nd_fd_.close(ec);
}

void ArpWatch::Wait(boost::asio::posix::stream_descriptor& fd, bool ndp) {
  fd.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                [this, &fd, ndp](const boost::system::error_code& ec) {
                  if (ec) return;
                  std::array<uint8_t, 256> buf{};
                  for (;;) {
                    sockaddr_ll from{};
                    socklen_t len = sizeof(from);
                    const ssize_t n = recvfrom(fd.native_handle(), buf.data(), buf.size(), 0,
                                               reinterpret_cast<sockaddr*>(&from), &len);
                    if (n < 0) break;  // EAGAIN: drained
                    if (from.sll_pkttype == PACKET_OUTGOING) continue;
                    const auto frame = std::span(buf.data(), static_cast<size_t>(n));
                    if (auto c = ndp ? ParseNaClaim(frame) : ParseArpClaim(frame))
                      claim_(static_cast<uint32_t>(from.sll_ifindex), *c);
                  }
                  Wait(fd, ndp);
                });
}

}  // namespace ironlb::l2
