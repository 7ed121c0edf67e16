#include "l2/announce.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace ironlb::l2 {
namespace {

constexpr uint16_t kEthPArp = 0x0806;
constexpr uint16_t kEthPIpv6 = 0x86dd;
constexpr uint16_t kArpHrdEther = 1;
constexpr uint16_t kEthPIp = 0x0800;
constexpr uint16_t kArpOpRequest = 1;
constexpr uint16_t kArpOpReply = 2;
constexpr uint8_t kIpProtoIcmpv6 = 58;
constexpr uint8_t kNdHopLimit = 255;  // RFC 4861 7.1.2
constexpr uint8_t kNdNeighborAdvert = 136;
constexpr uint8_t kNaFlagOverride = 0x20;
constexpr uint8_t kNdOptTargetLladdr = 2;
constexpr size_t kNaLen = 4 + 4 + 16 + 8;  // ICMPv6 header, flags, target, one option
constexpr Mac kBroadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr Mac kAllNodesMac = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};  // RFC 2464 section 7

void Put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

void PutBytes(std::vector<uint8_t>& b, const uint8_t* p, size_t n) {
  b.insert(b.end(), p, p + n);
}

void EthHeader(std::vector<uint8_t>& b, const Mac& dst, const Mac& src, uint16_t type) {
  PutBytes(b, dst.data(), dst.size());
  PutBytes(b, src.data(), src.size());
  Put16(b, type);
}

uint16_t Checksum(const std::vector<uint8_t>& data) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < data.size(); i += 2) sum += (uint32_t{data[i]} << 8) | data[i + 1];
  if (data.size() % 2) sum += uint32_t{data.back()} << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

std::vector<uint8_t> GratuitousArp(const Mac& mac, const IPAddr& vip, bool reply) {
  std::vector<uint8_t> b;
  EthHeader(b, kBroadcast, mac, kEthPArp);
  Put16(b, kArpHrdEther);
  Put16(b, kEthPIp);
  b.push_back(6);
  b.push_back(4);
  Put16(b, reply ? kArpOpReply : kArpOpRequest);
  const auto ip = vip.bytes();
  PutBytes(b, mac.data(), mac.size());
  PutBytes(b, ip.data(), 4);
  const Mac zero{};
  PutBytes(b, reply ? mac.data() : zero.data(), 6);
  PutBytes(b, ip.data(), 4);
  b.resize(60, 0);  // Ethernet minimum frame without FCS
  return b;
}

std::vector<uint8_t> UnsolicitedNa(const Mac& mac, const IPAddr& vip) {
  const auto src = vip.bytes();
  std::array<uint8_t, 16> dst{};
  dst[0] = 0xff;
  dst[1] = 0x02;
  dst[15] = 0x01;
  std::vector<uint8_t> na;
  na.push_back(kNdNeighborAdvert);
  na.push_back(0);  // code
  Put16(na, 0);     // checksum, filled below
  na.push_back(kNaFlagOverride);
  na.insert(na.end(), 3, 0);
  PutBytes(na, src.data(), 16);  // target
  na.push_back(kNdOptTargetLladdr);
  na.push_back(1);  // length in units of 8 octets
  PutBytes(na, mac.data(), mac.size());
  // RFC 8200 8.1 pseudo-header + message.
  std::vector<uint8_t> ph;
  PutBytes(ph, src.data(), 16);
  PutBytes(ph, dst.data(), 16);
  Put16(ph, 0);
  Put16(ph, static_cast<uint16_t>(na.size()));
  ph.insert(ph.end(), 3, 0);
  ph.push_back(kIpProtoIcmpv6);
  ph.insert(ph.end(), na.begin(), na.end());
  const uint16_t sum = Checksum(ph);
  na[2] = static_cast<uint8_t>(sum >> 8);
  na[3] = static_cast<uint8_t>(sum);

  std::vector<uint8_t> b;
  EthHeader(b, kAllNodesMac, mac, kEthPIpv6);
  b.push_back(0x60);  // version 6, traffic class 0, flow label 0
  b.insert(b.end(), 3, 0);
  Put16(b, static_cast<uint16_t>(kNaLen));
  b.push_back(kIpProtoIcmpv6);
  b.push_back(kNdHopLimit);
  PutBytes(b, src.data(), 16);
  PutBytes(b, dst.data(), 16);
  b.insert(b.end(), na.begin(), na.end());
  return b;
}

std::vector<std::vector<uint8_t>> AnnouncementFrames(const Mac& mac, const IPAddr& vip) {
  if (vip.is_v6()) return {UnsolicitedNa(mac, vip)};
  return {GratuitousArp(mac, vip, false), GratuitousArp(mac, vip, true)};
}

FrameSender::FrameSender() {
  // Protocol 0: send only, this socket receives nothing.
  fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("AF_PACKET socket: " + std::string(std::strerror(errno)));
}

FrameSender::~FrameSender() {
  if (fd_ >= 0) close(fd_);
}

bool FrameSender::Send(uint32_t ifindex, const std::vector<uint8_t>& frame) {
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(ifindex);
  to.sll_halen = 6;
  std::memcpy(to.sll_addr, frame.data(), 6);
  return sendto(fd_, frame.data(), frame.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to),
                sizeof(to)) == static_cast<ssize_t>(frame.size());
}

Mac InterfaceMac(const std::string& name) {
  Mac mac{};
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  ifreq req{};
  std::strncpy(req.ifr_name, name.c_str(), IFNAMSIZ - 1);
  const int rc = ioctl(s, SIOCGIFHWADDR, &req);
  close(s);
  if (rc != 0) throw std::runtime_error("cannot read the MAC of " + name);
  std::memcpy(mac.data(), req.ifr_hwaddr.sa_data, mac.size());
  return mac;
}

}  // namespace ironlb::l2
