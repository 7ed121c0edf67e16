// Takeover announcements: gratuitous ARP (RFC 5227 announcement, request and reply forms) and
// unsolicited Neighbor Advertisements with the Override flag (RFC 4861 7.2.6), built as whole
// Ethernet frames (pure) and sent through an AF_PACKET socket on each uplink.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "model/ip.h"

namespace ironlb::l2 {

using Mac = std::array<uint8_t, 6>;

// ARP with sender = target = vip from `mac`, to broadcast. The reply form carries target
// hardware address = `mac`, which Linux requires to take a reply as gratuitous.
std::vector<uint8_t> GratuitousArp(const Mac& mac, const IPAddr& vip, bool reply);
// An unsolicited NA for `vip` from `mac` to all-nodes (ff02::1), Override set, Solicited clear,
// with the target link-layer address option and a valid ICMPv6 checksum.
std::vector<uint8_t> UnsolicitedNa(const Mac& mac, const IPAddr& vip);
// The frames one announcement round sends for a VIP: both ARP forms for IPv4, the NA for IPv6.
std::vector<std::vector<uint8_t>> AnnouncementFrames(const Mac& mac, const IPAddr& vip);

// When the new owner sends announcements, from the moment it takes the VIP: at once, then again
// while the first one may have been lost or raced an older reply still in flight.
inline constexpr int kAnnounceDelaysMs[] = {0, 250, 1000, 2000, 4000};

// One raw socket; Send() writes a frame out of `ifindex`. Throws on socket creation only; a
// failed send returns false (the interface may be down: the next round tries again).
class FrameSender {
 public:
  FrameSender();
  ~FrameSender();
  FrameSender(const FrameSender&) = delete;
  FrameSender& operator=(const FrameSender&) = delete;
  bool Send(uint32_t ifindex, const std::vector<uint8_t>& frame);

 private:
  int fd_ = -1;
};

// An interface's MAC address; throws std::runtime_error when it has none.
Mac InterfaceMac(const std::string& name);

}  // namespace ironlb::l2
