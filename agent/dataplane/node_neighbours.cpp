#include "dataplane/node_neighbours.h"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>

#include "bpf/lb_maps.h"
#include "runtime/log.h"

namespace ironlb::dataplane {
namespace {

constexpr const char* kLog = "neighbours";

int AfOf(const IPAddr& a) {
  return a.is_v4() ? AF_INET : AF_INET6;
}

std::optional<IPAddr> AddrAttr(int family, nlattr* a) {
  if (!a) return std::nullopt;
  if (family == AF_INET && nla_len(a) == 4)
    return IPAddr::FromBytes(Family::kV4, static_cast<const uint8_t*>(nla_data(a)));
  if (family == AF_INET6 && nla_len(a) == 16)
    return IPAddr::FromBytes(Family::kV6, static_cast<const uint8_t*>(nla_data(a)));
  return std::nullopt;
}

// One rtnetlink socket for a Refresh: requests and their answers, in turn.
class Rtnl {
 public:
  Rtnl() {
    sock_ = nl_socket_alloc();
    if (!sock_) throw std::runtime_error("nl_socket_alloc failed");
    nl_socket_disable_auto_ack(sock_);  // acks only where asked for
    if (int err = nl_connect(sock_, NETLINK_ROUTE)) {
      nl_socket_free(sock_);
      throw std::runtime_error(std::string("netlink connect: ") + nl_geterror(err));
    }
  }
  ~Rtnl() { nl_socket_free(sock_); }
  Rtnl(const Rtnl&) = delete;
  Rtnl& operator=(const Rtnl&) = delete;

  // Sends `m` (freed here) and hands each answer to `parse`; a negative libnl error on failure.
  template <typename F>
  int Ask(nl_msg* m, F& parse) {
    int err = nl_send_auto(sock_, m);
    nlmsg_free(m);
    if (err < 0) return err;
    nl_cb* base = nl_socket_get_cb(sock_);  // a reference of its own
    nl_cb* cb = nl_cb_clone(base);
    nl_cb_put(base);
    if (!cb) return -NLE_NOMEM;
    nl_cb_set(
        cb, NL_CB_VALID, NL_CB_CUSTOM,
        [](nl_msg* msg, void* arg) {
          (*static_cast<F*>(arg))(nlmsg_hdr(msg));
          return static_cast<int>(NL_OK);
        },
        &parse);
    err = nl_recvmsgs(sock_, cb);
    nl_cb_put(cb);
    return err;
  }

  // A change, acknowledged.
  int Change(nl_msg* m) {
    int err = nl_send_auto(sock_, m);
    nlmsg_free(m);
    return err < 0 ? err : nl_wait_for_ack(sock_);
  }

  // The next hop the kernel's FIB picks for `a`, as `ip route get` says.
  std::optional<NextHop> RouteTo(const IPAddr& a) {
    rtmsg rtm{};
    rtm.rtm_family = static_cast<unsigned char>(AfOf(a));
    rtm.rtm_dst_len = static_cast<unsigned char>(a.bits());
    nl_msg* m = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST);
    const auto b = a.bytes();
    if (!m || nlmsg_append(m, &rtm, sizeof rtm, NLMSG_ALIGNTO) < 0 ||
        nla_put(m, RTA_DST, a.is_v4() ? 4 : 16, b.data()) < 0) {
      nlmsg_free(m);
      return std::nullopt;
    }
    std::optional<NextHop> hop;
    auto parse = [&](nlmsghdr* h) {
      if (h->nlmsg_type != RTM_NEWROUTE) return;
      nlattr* tb[RTA_MAX + 1] = {};
      if (nlmsg_parse(h, sizeof(rtmsg), tb, RTA_MAX, nullptr) < 0 || !tb[RTA_OIF]) return;
      const auto* r = static_cast<const rtmsg*>(nlmsg_data(h));
      if (r->rtm_type != RTN_UNICAST) return;  // local, unreachable, blackhole: nothing to resolve
      NextHop n;
      n.ifindex = nla_get_u32(tb[RTA_OIF]);
      // A gateway of the other family (RTA_VIA) is not resolved here: the node is probed instead.
      if (tb[RTA_VIA]) return;
      n.addr = AddrAttr(r->rtm_family, tb[RTA_GATEWAY]).value_or(a);
      hop = n;
    };
    if (Ask(m, parse) < 0) return std::nullopt;
    return hop;
  }

  std::vector<NeighbourEntry> Dump() {
    ndmsg ndm{};
    ndm.ndm_family = AF_UNSPEC;
    nl_msg* m = nlmsg_alloc_simple(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP);
    std::vector<NeighbourEntry> out;
    if (!m || nlmsg_append(m, &ndm, sizeof ndm, NLMSG_ALIGNTO) < 0) {
      nlmsg_free(m);
      return out;
    }
    auto parse = [&](nlmsghdr* h) {
      if (h->nlmsg_type != RTM_NEWNEIGH) return;
      nlattr* tb[NDA_MAX + 1] = {};
      if (nlmsg_parse(h, sizeof(ndmsg), tb, NDA_MAX, nullptr) < 0) return;
      const auto* n = static_cast<const ndmsg*>(nlmsg_data(h));
      if (n->ndm_family != AF_INET && n->ndm_family != AF_INET6) return;
      const auto addr = AddrAttr(n->ndm_family, tb[NDA_DST]);
      if (!addr) return;
      NeighbourEntry e;
      e.hop = {static_cast<uint32_t>(n->ndm_ifindex), *addr};
      e.state = n->ndm_state;
      if (tb[NDA_PROTOCOL]) e.protocol = nla_get_u8(tb[NDA_PROTOCOL]);
      if (tb[NDA_FLAGS_EXT]) e.managed = nla_get_u32(tb[NDA_FLAGS_EXT]) & NTF_EXT_MANAGED;
      out.push_back(e);
    };
    const int err = Ask(m, parse);
    if (err < 0) log::Warn(kLog, std::string("cannot list neighbours: ") + nl_geterror(err));
    return out;
  }

  // A managed entry of ours; the kernel starts resolving it at once.
  int Create(const NextHop& h) {
    ndmsg ndm{};
    ndm.ndm_family = static_cast<uint8_t>(AfOf(h.addr));
    ndm.ndm_ifindex = static_cast<int>(h.ifindex);
    ndm.ndm_state = NUD_NONE;
    nl_msg* m =
        nlmsg_alloc_simple(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
    const auto b = h.addr.bytes();
    if (!m || nlmsg_append(m, &ndm, sizeof ndm, NLMSG_ALIGNTO) < 0 ||
        nla_put(m, NDA_DST, h.addr.is_v4() ? 4 : 16, b.data()) < 0 ||
        nla_put_u8(m, NDA_PROTOCOL, kNeighbourProtocol) < 0 ||
        nla_put_u32(m, NDA_FLAGS_EXT, NTF_EXT_MANAGED) < 0) {
      nlmsg_free(m);
      return -NLE_NOMEM;
    }
    return Change(m);
  }

  int Delete(const NextHop& h) {
    ndmsg ndm{};
    ndm.ndm_family = static_cast<uint8_t>(AfOf(h.addr));
    ndm.ndm_ifindex = static_cast<int>(h.ifindex);
    nl_msg* m = nlmsg_alloc_simple(RTM_DELNEIGH, NLM_F_REQUEST | NLM_F_ACK);
    const auto b = h.addr.bytes();
    if (!m || nlmsg_append(m, &ndm, sizeof ndm, NLMSG_ALIGNTO) < 0 ||
        nla_put(m, NDA_DST, h.addr.is_v4() ? 4 : 16, b.data()) < 0) {
      nlmsg_free(m);
      return -NLE_NOMEM;
    }
    return Change(m);
  }

 private:
  nl_sock* sock_ = nullptr;
};

// An empty datagram to the node's GUE port: the kernel resolves (or confirms) the next hop on the
// way; the node's XDP drops it without counting it as a fault (encap.h).
void Probe(const IPAddr& node) {
  const int s = socket(AfOf(node), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  sockaddr_storage ss{};
  socklen_t len;
  const auto bytes = node.bytes();
  if (node.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(LB_GUE_PORT);
    std::memcpy(&sin->sin_addr, bytes.data(), 4);
    len = sizeof(*sin);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(LB_GUE_PORT);
    std::memcpy(&sin6->sin6_addr, bytes.data(), 16);
    len = sizeof(*sin6);
  }
  // Best effort: a node that is down fails this, and is probed again next time.
  (void)sendto(s, nullptr, 0, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&ss), len);
  close(s);
}

std::string Describe(const NextHop& h) {
  char name[IF_NAMESIZE] = {};
  const char* dev = if_indextoname(h.ifindex, name);
  return h.addr.str() + " dev " + (dev ? dev : std::to_string(h.ifindex));
}

const char* StateName(uint16_t s) {
  if (s & NUD_REACHABLE) return "reachable";
  if (s & NUD_STALE) return "stale";
  if (s & NUD_DELAY) return "delay";
  if (s & NUD_PROBE) return "probe";
  if (s & NUD_INCOMPLETE) return "incomplete";
  if (s & NUD_FAILED) return "failed";
  if (s & NUD_PERMANENT) return "permanent";
  if (s & NUD_NOARP) return "noarp";
  return "none";
}

}  // namespace

NeighbourPlan PlanNeighbours(const std::map<IPAddr, NextHop>& wanted,
                             const std::vector<NeighbourEntry>& kernel, bool link_up,
                             bool managed) {
  NeighbourPlan plan;
  std::map<NextHop, const NeighbourEntry*> have;
  for (const auto& e : kernel) have[e.hop] = &e;
  std::set<NextHop> hops;
  for (const auto& [node, hop] : wanted) {
    const auto it = have.find(hop);
    const NeighbourEntry* e = it == have.end() ? nullptr : it->second;
    if (!managed || (e && !e->ours())) {
      plan.probe.push_back(node);
      continue;
    }
    if (!hops.insert(hop).second) continue;  // two nodes behind one gateway
    if (!e) {
      plan.create.push_back(hop);
    } else if (!e->managed) {
      plan.managed_ignored = true;
    } else if ((e->state & NUD_FAILED) ||
               (link_up && (e->state == NUD_NONE || (e->state & NUD_INCOMPLETE)))) {
      plan.recreate.push_back(hop);
    }
  }
  for (const auto& e : kernel)
    if (e.ours() && !hops.count(e.hop)) plan.remove.push_back(e.hop);
  return plan;
}

NodeNeighbours::NodeNeighbours() = default;
NodeNeighbours::~NodeNeighbours() = default;

void NodeNeighbours::Set(const std::set<IPAddr>& nodes) {
  nodes_ = nodes;
  Refresh();
}

void NodeNeighbours::Refresh(bool link_up) {
  try {
    Rtnl nl;
    std::map<IPAddr, NextHop> wanted;
    std::vector<IPAddr> unrouted;
    for (const auto& n : nodes_) {
      if (auto hop = nl.RouteTo(n)) {
        wanted[n] = *hop;
      } else {
        unrouted.push_back(n);
      }
    }
    auto kernel = nl.Dump();
    NeighbourPlan plan = PlanNeighbours(wanted, kernel, link_up, managed_);
    if (plan.managed_ignored) {
      // Older than Linux 5.16: the kernel took the entry but not the flag, so it would age out
      // like any other. Probing keeps the nodes resolved instead.
      log::Warn(kLog,
                "the kernel does not keep managed neighbour entries (Linux < 5.16): "
                "probing the other nodes instead");
      managed_ = false;
      plan = PlanNeighbours(wanted, kernel, link_up, managed_);
    }
    for (const auto& h : plan.remove)
      if (int err = nl.Delete(h); err < 0 && err != -NLE_OBJ_NOTFOUND)
        log::Warn(kLog, "cannot remove the entry for " + Describe(h) + ": " + nl_geterror(err));
    for (const auto& h : plan.recreate) nl.Delete(h);
    for (const auto* list : {&plan.create, &plan.recreate})
      for (const auto& h : *list) {
        const int err = nl.Create(h);
        if (err == -NLE_EXIST) continue;  // someone made one since the dump: theirs
        if (err < 0) {
          log::Warn(kLog, "cannot create a managed entry for " + Describe(h) + " (" +
                              nl_geterror(err) + "): probing the other nodes instead");
          managed_ = false;
        }
      }
    for (const auto& n : plan.probe) Probe(n);
    if (!managed_) {
      for (const auto& [n, hop] : wanted) Probe(n);
    }
    for (const auto& n : unrouted) Probe(n);  // the kernel may still find a way (RTA_VIA)

    // What the status shows: the entries as planned (the kernel's answer follows in a moment).
    std::map<NextHop, const NeighbourEntry*> have;
    for (const auto& e : kernel) have[e.hop] = &e;
    status_ = nlohmann::json::array();
    for (const auto& [n, hop] : wanted) {
      const auto it = have.find(hop);
      const NeighbourEntry* e = it == have.end() ? nullptr : it->second;
      // Whose entry the dump showed; none yet: one of ours now (or the probe's, unmanaged).
      const char* entry = e ? (e->ours() ? "ironlb" : "other") : managed_ ? "created" : "none";
      status_.push_back({{"node", n.str()},
                         {"next_hop", hop.addr.str()},
                         {"ifindex", hop.ifindex},
                         {"entry", entry},
                         {"state", e ? StateName(e->state) : "none"}});
    }
    for (const auto& n : unrouted) status_.push_back({{"node", n.str()}, {"entry", "no route"}});
  } catch (const std::exception& e) {
    log::Warn(kLog, std::string("neighbour refresh failed: ") + e.what());
    for (const auto& n : nodes_) Probe(n);
  }
}

void NodeNeighbours::RemoveAll() {
  try {
    Rtnl nl;
    for (const auto& e : nl.Dump())
      if (e.ours()) nl.Delete(e.hop);
  } catch (const std::exception& e) {
    log::Warn(kLog, std::string("cannot remove neighbour entries: ") + e.what());
  }
}

nlohmann::json NodeNeighbours::Status() const {
  return {{"mode", managed_ ? "managed" : "probe"}, {"nodes", status_}};
}

NeighbourWatch::NeighbourWatch(boost::asio::io_context& io, std::function<void(bool)> changed)
    : changed_(std::move(changed)),
      events_(
          io, {RTNLGRP_NEIGH, RTNLGRP_LINK}, [this](const nlmsghdr& h) { OnMessage(h); },
          [this](bool overrun) {
            if (overrun) any_ = link_up_ = true;  // events were lost: assume the worst
            if (any_ || link_up_) changed_(link_up_);
            any_ = link_up_ = false;
          }) {}

void NeighbourWatch::OnMessage(const nlmsghdr& h) {
  if (auto c = NetlinkEvents::LinkCarrier(h)) {
    const auto [it, first] = carrier_.try_emplace(c->ifindex, c->up);
    if (!first && c->up && !it->second) link_up_ = true;
    it->second = c->up;
    if (h.nlmsg_type == RTM_DELLINK) carrier_.erase(it);
    return;
  }
  if (h.nlmsg_type != RTM_DELNEIGH && h.nlmsg_type != RTM_NEWNEIGH) return;
  if (!nlmsg_valid_hdr(&h, sizeof(ndmsg))) return;
  const auto* n = static_cast<const ndmsg*>(nlmsg_data(&h));
  if (n->ndm_family != AF_INET && n->ndm_family != AF_INET6) return;
  if (h.nlmsg_type == RTM_DELNEIGH || (n->ndm_state & NUD_FAILED)) any_ = true;
}

}  // namespace ironlb::dataplane
