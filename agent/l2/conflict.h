// Conflict detection: ARP frames and IPv6 Neighbor Advertisements on the uplinks in which another
// MAC claims a VIP this node owns (a gratuitous ARP / unsolicited NA or a reply from a node that
// still answers after a partition, a stale agent, a misconfigured host). The parsers are pure;
// ArpWatch reads the frames from two AF_PACKET sockets.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "l2/announce.h"
#include "model/ip.h"

namespace ironlb::l2 {

// Who a frame says holds an address: the sender of an ARP frame, or the target of an NA.
struct ArpClaim {
  Mac sender_mac;
  IPAddr sender_ip;
  bool operator==(const ArpClaim&) const = default;
};
// An Ethernet/IPv4 ARP frame (request or reply, VLAN-untagged).
std::optional<ArpClaim> ParseArpClaim(std::span<const uint8_t> frame);
// An Ethernet/IPv6 Neighbor Advertisement (solicited or not, VLAN-untagged, no extension
// headers, hop limit 255 as RFC 4861 requires): its target, with the MAC of its target
// link-layer address option, or the Ethernet source when it has none.
std::optional<ArpClaim> ParseNaClaim(std::span<const uint8_t> frame);

class ArpWatch {
 public:
  // `claim(ifindex, claim)` for every ARP frame and NA received (not the ones this host sends).
  // Throws std::runtime_error when a socket cannot be opened.
  ArpWatch(boost::asio::io_context& io, std::function<void(uint32_t, const ArpClaim&)> claim);
  ~ArpWatch();
  ArpWatch(const ArpWatch&) = delete;
  ArpWatch& operator=(const ArpWatch&) = delete;

 private:
  void Wait(boost::asio::posix::stream_descriptor& fd, bool ndp);
  boost::asio::posix::stream_descriptor fd_, nd_fd_;
  std::function<void(uint32_t, const ArpClaim&)> claim_;
};

}  // namespace ironlb::l2
