// Conflict detection: ARP frames on the uplinks in which another MAC claims a VIP this node owns
// (a gratuitous ARP or a reply from a node that still answers after a partition, a stale agent,
// a misconfigured host). The parser is pure; ArpWatch reads the frames from an AF_PACKET socket.
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

// Who an Ethernet/IPv4 ARP frame (request or reply, VLAN-untagged) says holds an address.
struct ArpClaim {
  Mac sender_mac;
  IPAddr sender_ip;
  bool operator==(const ArpClaim&) const = default;
};
std::optional<ArpClaim> ParseArpClaim(std::span<const uint8_t> frame);

class ArpWatch {
 public:
  // `claim(ifindex, claim)` for every ARP frame received (not the ones this host sends).
  // Throws std::runtime_error when the socket cannot be opened.
  ArpWatch(boost::asio::io_context& io, std::function<void(uint32_t, const ArpClaim&)> claim);
  ~ArpWatch();
  ArpWatch(const ArpWatch&) = delete;
  ArpWatch& operator=(const ArpWatch&) = delete;

 private:
  void Wait();
  boost::asio::posix::stream_descriptor fd_;
  std::function<void(uint32_t, const ArpClaim&)> claim_;
};

}  // namespace ironlb::l2
