// Kernel events from rtnetlink multicast groups (links, neighbours, ...), read through libnl on an
// io_context: the socket, its wait and its drain, shared by every watch of the kernel's tables.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <initializer_list>
#include <optional>

struct nl_sock;
struct nl_msg;
struct nlmsghdr;

namespace ironlb {

class NetlinkEvents {
 public:
  // Joins `groups` (RTNLGRP_*). `message` sees each message of a drain; `drained(overrun)` runs
  // after each drain, with overrun true when the socket overflowed (ENOBUFS) and events were
  // lost, so the caller re-reads what it follows. Throws when the socket cannot be made.
  NetlinkEvents(boost::asio::io_context& io, std::initializer_list<unsigned> groups,
                std::function<void(const nlmsghdr&)> message,
                std::function<void(bool overrun)> drained);
  ~NetlinkEvents();
  NetlinkEvents(const NetlinkEvents&) = delete;
  NetlinkEvents& operator=(const NetlinkEvents&) = delete;

  struct Carrier {
    int ifindex;
    bool up;  // administratively up with carrier (IFF_UP and IFF_LOWER_UP); false when deleted
  };
  // For an RTM_NEWLINK/RTM_DELLINK message, the interface and its carrier; nullopt otherwise.
  static std::optional<Carrier> LinkCarrier(const nlmsghdr& h);

 private:
  void Wait();
  static int OnMessage(nl_msg* msg, void* self);

  nl_sock* sock_ = nullptr;
  boost::asio::posix::stream_descriptor fd_;
  std::function<void(const nlmsghdr&)> message_;
  std::function<void(bool)> drained_;
};

}  // namespace ironlb
