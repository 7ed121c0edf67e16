// Carrier of the uplinks, from rtnetlink link events through libnl: a node whose uplinks have
// all lost carrier drops out of the L2 election at once instead of waiting for its peers'
// detection time. Runs on the io_context it is given.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <map>

#include "runtime/netlink_events.h"

namespace ironlb::l2 {

class LinkWatch {
 public:
  // Calls `changed(ifindex, carrier)` for each watched interface whose carrier changes.
  LinkWatch(boost::asio::io_context& io, std::map<uint32_t, bool>* carrier,
            std::function<void(uint32_t, bool)> changed);

  // The carrier of an interface now (up with IFF_LOWER_UP, asked over rtnetlink; false when
  // unknown).
  static bool CarrierNow(uint32_t ifindex);

 private:
  void Set(uint32_t ifindex, bool up);

  std::map<uint32_t, bool>* carrier_;
  std::function<void(uint32_t, bool)> changed_;
  NetlinkEvents events_;  // last: its callbacks use the members above
};

}  // namespace ironlb::l2
