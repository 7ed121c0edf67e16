#include "l2/link_watch.h"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#include <stdexcept>
#include <string>

#include "runtime/log.h"

namespace ironlb::l2 {
namespace {

// linux/if.h's IFF_LOWER_UP (carrier); <net/if.h>, which this file needs, does not define it.
constexpr unsigned kIffLowerUp = 0x10000;

}  // namespace

LinkWatch::LinkWatch(boost::asio::io_context& io, std::map<uint32_t, bool>* carrier,
                     std::function<void(uint32_t, bool)> changed)
    : carrier_(carrier),
      changed_(std::move(changed)),
      events_(
          io, {RTNLGRP_LINK},
          [this](const nlmsghdr& h) {
            if (auto c = NetlinkEvents::LinkCarrier(h))
              Set(static_cast<uint32_t>(c->ifindex), c->up);
          },
          [this](bool overrun) {
            // Events were lost: re-read every carrier.
            if (overrun)
              for (const auto& [idx, up] : *carrier_) Set(idx, CarrierNow(idx));
          }) {}

void LinkWatch::Set(uint32_t ifindex, bool up) {
  auto it = carrier_->find(ifindex);
  if (it == carrier_->end() || it->second == up) return;
  it->second = up;
  changed_(ifindex, up);
}

bool LinkWatch::CarrierNow(uint32_t ifindex) {
  // IFF_LOWER_UP follows the carrier at once; IFF_RUNNING (what SIOCGIFFLAGS can tell) waits for
  // the kernel's deferred operstate work and reads false for a while after a link comes up.
  nl_sock* sock = nl_socket_alloc();
  if (!sock) return false;
  bool up = false;
  rtnl_link* link = nullptr;
  if (nl_connect(sock, NETLINK_ROUTE) == 0 &&
      rtnl_link_get_kernel(sock, static_cast<int>(ifindex), nullptr, &link) == 0) {
    const unsigned flags = rtnl_link_get_flags(link);
    up = (flags & IFF_UP) && (flags & kIffLowerUp);
    rtnl_link_put(link);
  }
  nl_socket_free(sock);
  return up;
}

}  // namespace ironlb::l2
