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
    : fd_(io), carrier_(carrier), changed_(std::move(changed)) {
  sock_ = nl_socket_alloc();
  if (!sock_) throw std::runtime_error("nl_socket_alloc failed");
  nl_socket_disable_seq_check(sock_);  // events are not replies to our requests
  nl_socket_modify_cb(sock_, NL_CB_VALID, NL_CB_CUSTOM, &LinkWatch::OnMessage, this);
  if (int err = nl_connect(sock_, NETLINK_ROUTE)) {
    nl_socket_free(sock_);
    throw std::runtime_error(std::string("netlink connect: ") + nl_geterror(err));
  }
  nl_socket_add_membership(sock_, RTNLGRP_LINK);
  nl_socket_set_nonblocking(sock_);
  // The descriptor stays libnl's: stream_descriptor only waits on it; release() before close.
  fd_.assign(nl_socket_get_fd(sock_));
  Wait();
}

LinkWatch::~LinkWatch() {
  boost::system::error_code ec;
  fd_.cancel(ec);
  fd_.release();
  nl_socket_free(sock_);
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

void LinkWatch::Wait() {
  fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                 [this](const boost::system::error_code& ec) {
                   if (ec) return;
                   // Drain; an overrun (ENOBUFS) loses events, so re-read every carrier then.
                   int rc = 0;
                   while ((rc = nl_recvmsgs_default(sock_)) >= 0) {
                   }
                   if (rc == -NLE_NOMEM || rc == -NLE_MSG_OVERFLOW)
                     for (auto& [idx, up] : *carrier_) {
                       const bool now = CarrierNow(idx);
                       if (now != up) {
                         up = now;
                         changed_(idx, now);
                       }
                     }
                   Wait();
                 });
}

int LinkWatch::OnMessage(nl_msg* msg, void* arg) {
  auto* self = static_cast<LinkWatch*>(arg);
  nlmsghdr* h = nlmsg_hdr(msg);
  if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) return NL_OK;
  if (!nlmsg_valid_hdr(h, sizeof(ifinfomsg))) return NL_OK;
  const auto* ifi = static_cast<const ifinfomsg*>(nlmsg_data(h));
  auto it = self->carrier_->find(static_cast<uint32_t>(ifi->ifi_index));
  if (it == self->carrier_->end()) return NL_OK;
  const bool up =
      h->nlmsg_type == RTM_NEWLINK && (ifi->ifi_flags & IFF_UP) && (ifi->ifi_flags & kIffLowerUp);
  if (up != it->second) {
    it->second = up;
    self->changed_(it->first, up);
  }
  return NL_OK;
}

}  // namespace ironlb::l2
