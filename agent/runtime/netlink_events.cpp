#include "runtime/netlink_events.h"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <stdexcept>
#include <string>

namespace ironlb {
namespace {

// linux/if.h's IFF_LOWER_UP (carrier); <net/if.h>, which IFF_UP comes from, does not define it.
constexpr unsigned kIffLowerUp = 0x10000;

}  // namespace

NetlinkEvents::NetlinkEvents(boost::asio::io_context& io, std::initializer_list<unsigned> groups,
                             std::function<void(const nlmsghdr&)> message,
                             std::function<void(bool)> drained)
    : fd_(io), message_(std::move(message)), drained_(std::move(drained)) {
  sock_ = nl_socket_alloc();
  if (!sock_) throw std::runtime_error("nl_socket_alloc failed");
  nl_socket_disable_seq_check(sock_);  // events are not replies to our requests
  nl_socket_modify_cb(sock_, NL_CB_VALID, NL_CB_CUSTOM, &NetlinkEvents::OnMessage, this);
  if (int err = nl_connect(sock_, NETLINK_ROUTE)) {
    nl_socket_free(sock_);
    throw std::runtime_error(std::string("netlink connect: ") + nl_geterror(err));
  }
  for (unsigned g : groups) nl_socket_add_membership(sock_, static_cast<int>(g));
  nl_socket_set_nonblocking(sock_);
  // The descriptor stays libnl's: stream_descriptor only waits on it; release() before close.
  fd_.assign(nl_socket_get_fd(sock_));
  Wait();
}

NetlinkEvents::~NetlinkEvents() {
  boost::system::error_code ec;
  fd_.cancel(ec);
  fd_.release();
  nl_socket_free(sock_);
}

void NetlinkEvents::Wait() {
  fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                 [this](const boost::system::error_code& ec) {
                   if (ec) return;
                   int rc = 0;
                   while ((rc = nl_recvmsgs_default(sock_)) >= 0) {
                   }
                   drained_(rc == -NLE_NOMEM || rc == -NLE_MSG_OVERFLOW);
                   Wait();
                 });
}

int NetlinkEvents::OnMessage(nl_msg* msg, void* arg) {
  static_cast<NetlinkEvents*>(arg)->message_(*nlmsg_hdr(msg));
  return NL_OK;
}

std::optional<NetlinkEvents::Carrier> NetlinkEvents::LinkCarrier(const nlmsghdr& h) {
  if (h.nlmsg_type != RTM_NEWLINK && h.nlmsg_type != RTM_DELLINK) return std::nullopt;
  if (!nlmsg_valid_hdr(&h, sizeof(ifinfomsg))) return std::nullopt;
  const auto* ifi = static_cast<const ifinfomsg*>(nlmsg_data(&h));
  return Carrier{ifi->ifi_index, h.nlmsg_type == RTM_NEWLINK && (ifi->ifi_flags & IFF_UP) &&
                                     (ifi->ifi_flags & kIffLowerUp)};
}

}  // namespace ironlb
