#include "l2/conflict.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <unistd.h>

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

ArpWatch::ArpWatch(boost::asio::io_context& io,
                   std::function<void(uint32_t, const ArpClaim&)> claim)
    : fd_(io), claim_(std::move(claim)) {
  const int s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ARP));
  if (s < 0) throw std::runtime_error("AF_PACKET ARP socket: " + std::string(strerror(errno)));
  fd_.assign(s);
  Wait();
}

ArpWatch::~ArpWatch() {
  boost::system::error_code ec;
  fd_.close(ec);
}

void ArpWatch::Wait() {
  fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                 [this](const boost::system::error_code& ec) {
                   if (ec) return;
                   std::array<uint8_t, 128> buf{};
                   for (;;) {
                     sockaddr_ll from{};
                     socklen_t len = sizeof(from);
                     const ssize_t n = recvfrom(fd_.native_handle(), buf.data(), buf.size(), 0,
                                                reinterpret_cast<sockaddr*>(&from), &len);
                     if (n < 0) break;  // EAGAIN: drained
                     if (from.sll_pkttype == PACKET_OUTGOING) continue;
                     if (auto c = ParseArpClaim(std::span(buf.data(), static_cast<size_t>(n))))
                       claim_(static_cast<uint32_t>(from.sll_ifindex), *c);
                   }
                   Wait();
                 });
}

}  // namespace ironlb::l2
