#include "dataplane/nexthop_table.h"

#include <bpf/bpf.h>
#include <linux/fib_rules.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "dataplane/map_layout.h"
#include "runtime/log.h"
#include "runtime/monotonic.h"

namespace ironlb::dataplane {
namespace {

constexpr const char* kLog = "nexthop";
// The kernel's NUD_VALID (include/net/neighbour.h): the states in which bpf_fib_lookup uses a
// neighbour entry rather than answering "no neighbour".
constexpr uint16_t kNudValid =
    NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY;
constexpr unsigned kIffLowerUp = 0x10000;       // linux/if.h's IFF_LOWER_UP; <net/if.h> lacks it
constexpr uint64_t kPromiseNs = 3'000'000'000;  // lb_nexthop_live reaches this far ahead
constexpr int kRenewMs = 1000;                  // and is renewed this often
constexpr uint64_t kResyncNs = 30'000'000'000;  // a full re-read even without events
constexpr uint32_t kNoSuppress = 0xffffffff;    // FRA_SUPPRESS_PREFIXLEN of a plain rule

int AfOf(const IPAddr& a) {
  return a.is_v4() ? AF_INET : AF_INET6;
}

std::optional<IPAddr> AddrAttr(int family, const nlattr* a) {
  if (!a) return std::nullopt;
  const auto* p = static_cast<const uint8_t*>(nla_data(a));
  if (family == AF_INET && nla_len(a) == 4) return IPAddr::FromBytes(Family::kV4, p);
  if (family == AF_INET6 && nla_len(a) == 16) return IPAddr::FromBytes(Family::kV6, p);
  return std::nullopt;
}

using Mac = std::array<uint8_t, 6>;

struct Link {
  Mac mac{};
  uint32_t mtu = 0;
  bool usable = false;  // Ethernet, up, carrier
};

struct Neighbour {
  Mac mac{};
  bool valid = false;  // NUD_VALID with a 6-byte link-layer address
};

// The route part of an endpoint's answer (the neighbour part is looked up when composing).
struct Route {
  uint32_t oif = 0;  // 0: no usable route (the FIB is asked)
  IPAddr via;        // the gateway, or the endpoint itself when on-link
  uint32_t mtu = 0;  // the route's MTU metric; 0: none
};

using NeighKey = std::pair<uint32_t, IPAddr>;  // ifindex, address
using Endpoints = NextHopTable::Endpoints;

const IPAddr* Find(const Endpoints& set, uint32_t id) {
  auto it = std::lower_bound(set.begin(), set.end(), id,
                             [](const auto& e, uint32_t want) { return e.first < want; });
  return it != set.end() && it->first == id ? &it->second : nullptr;
}

// One request on a blocking socket; `each` sees every reply message (all parts of a dump).
int Request(nl_sock* s, nl_msg* msg, const std::function<void(nlmsghdr*)>& each) {
  auto call = [](nl_msg* m, void* arg) {
    (*static_cast<const std::function<void(nlmsghdr*)>*>(arg))(nlmsg_hdr(m));
    return int(NL_OK);
  };
  nl_socket_modify_cb(s, NL_CB_VALID, NL_CB_CUSTOM, call,
                      const_cast<std::function<void(nlmsghdr*)>*>(&each));
  int rc = nl_send_auto(s, msg);
  nlmsg_free(msg);
  if (rc < 0) return rc;
  return nl_recvmsgs_default(s);
}

template <typename Hdr>
nl_msg* NewMsg(int type, int flags, const Hdr& hdr) {
  nl_msg* m = nlmsg_alloc_simple(type, flags);
  if (!m) throw std::runtime_error("nlmsg_alloc failed");
  nlmsg_append(m, const_cast<Hdr*>(&hdr), sizeof(hdr), NLMSG_ALIGNTO);
  return m;
}

bool ReadFlag(const std::string& path) {
  std::ifstream f(path);
  int v = 0;
  return (f >> v) && v != 0;
}

}  // namespace

struct NextHopTable::Impl {
  int map_fd;
  int live_fd;
  std::vector<uint32_t> ingress;
  nl_sock* events = nullptr;  // multicast: link, neighbour, route, rule, netconf
  nl_sock* query = nullptr;   // requests and dumps
  int wake_fd = -1;
  std::thread thread;
  std::atomic<bool> stop{false};

  mutable std::mutex mu;  // guards the fields up to `cv`
  // Immutable once made, so the thread takes it by reference count: at 100,000 local endpoints
  // a copy per side was ~13 MB of tree nodes.
  std::shared_ptr<const Endpoints> wanted = std::make_shared<const Endpoints>();
  bool wanted_changed = false;
  uint64_t requested = 0, done = 0;
  NextHopStats stats;
  std::condition_variable cv;

  // The thread's own state.
  std::shared_ptr<const Endpoints> endpoints = wanted;
  // Only endpoints with a usable route (oif != 0): the others' answer is "ask the FIB", as for
  // an endpoint not here.
  std::map<uint32_t, Route> routes;
  std::map<NeighKey, std::set<uint32_t>> users;  // neighbour -> endpoints whose answer it is
  std::map<uint32_t, Link> links;
  std::map<NeighKey, Neighbour> neighbours;
  std::map<uint32_t, lb_nexthop> written;  // what the map holds (ids not here hold zeros)
  bool family_ok[2] = {false, false};      // [0] IPv4, [1] IPv6
  bool resync = true;
  uint64_t last_resync = 0, last_renew = 0;
  uint64_t neighbour_updates = 0, resyncs = 0;

  void Run();
  void DrainEvents();
  void OnEvent(nlmsghdr* h);
  void Resync();
  void ReadLinks();
  void ReadNeighbours();
  bool DefaultRulesOnly(int family);
  bool Forwarding(int family);
  Route ResolveRoute(const IPAddr& dst);
  // Resolves `id`'s route and keeps it when usable.
  void AddRoute(uint32_t id, const IPAddr& addr);
  lb_nexthop Compose(uint32_t id) const;
  void Write(uint32_t id, const lb_nexthop& v);
  void Renew(uint64_t until);
  void ClearMap();
  void Publish();
};

NextHopTable::NextHopTable(int map_fd, int live_fd, std::vector<uint32_t> ingress)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.map_fd = map_fd;
  m.live_fd = live_fd;
  m.ingress = std::move(ingress);
  m.events = nl_socket_alloc();
  m.query = nl_socket_alloc();
  m.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (!m.events || !m.query || m.wake_fd < 0) {
    if (m.events) nl_socket_free(m.events);
    if (m.query) nl_socket_free(m.query);
    if (m.wake_fd >= 0) close(m.wake_fd);
    throw std::runtime_error("next-hop table: cannot allocate netlink sockets");
  }
  nl_socket_disable_seq_check(m.events);  // events are not replies to our requests
  // Request() reads one answer (or one dump) per request: an ACK after it would be read as the
  // next request's answer.
  nl_socket_disable_auto_ack(m.query);
  nl_socket_modify_cb(
      m.events, NL_CB_VALID, NL_CB_CUSTOM,
      [](nl_msg* msg, void* arg) {
        static_cast<Impl*>(arg)->OnEvent(nlmsg_hdr(msg));
        return int(NL_OK);
      },
      &m);
  int err = nl_connect(m.events, NETLINK_ROUTE);
  if (!err) err = nl_connect(m.query, NETLINK_ROUTE);
  if (!err)
    err = nl_socket_add_memberships(m.events, RTNLGRP_LINK, RTNLGRP_NEIGH, RTNLGRP_IPV4_ROUTE,
                                    RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE,
                                    RTNLGRP_IPV4_NETCONF, RTNLGRP_IPV6_NETCONF, 0);
  if (err) {
    nl_socket_free(m.events);
    nl_socket_free(m.query);
    close(m.wake_fd);
    throw std::runtime_error(std::string("next-hop table: netlink: ") + nl_geterror(err));
  }
  // A burst (an interface flapping with thousands of neighbours) must not overflow quietly: an
  // overrun is noticed (ENOBUFS) and answered with a full re-read, but a large buffer avoids it.
  nl_socket_set_buffer_size(m.events, 4 << 20, 0);
  nl_socket_set_nonblocking(m.events);
  // A previous agent's entries may be stale: stop vouching for them before anything else. With
  // the vouch withdrawn xdp_lb reads none of them, so the clearing (one lookup per slot, ~70 ms
  // at 131,072 slots) is the table's own thread's first job instead of delaying the agent's start.
  m.Renew(0);
  m.thread = std::thread([&m] {
    m.ClearMap();
    m.Run();
  });
}

NextHopTable::~NextHopTable() {
  Impl& m = *impl_;
  m.stop = true;
  const uint64_t one = 1;
  (void)!write(m.wake_fd, &one, sizeof(one));
  m.thread.join();
  m.Renew(0);
  nl_socket_free(m.events);
  nl_socket_free(m.query);
  close(m.wake_fd);
}

void NextHopTable::SetEndpoints(Endpoints endpoints) {
  std::sort(endpoints.begin(), endpoints.end());
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (endpoints == *impl_->wanted) return;
    impl_->wanted = std::make_shared<const Endpoints>(std::move(endpoints));
    impl_->wanted_changed = true;
  }
  const uint64_t one = 1;
  (void)!write(impl_->wake_fd, &one, sizeof(one));
}

void NextHopTable::Sync() {
  std::unique_lock<std::mutex> lock(impl_->mu);
  const uint64_t want = ++impl_->requested;
  const uint64_t one = 1;
  (void)!write(impl_->wake_fd, &one, sizeof(one));
  impl_->cv.wait(lock, [&] { return impl_->done >= want; });
}

NextHopStats NextHopTable::Stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

void NextHopTable::Impl::Run() {
  while (!stop) {
    uint64_t requested_now;
    std::shared_ptr<const Endpoints> next;
    {
      std::lock_guard<std::mutex> lock(mu);
      requested_now = requested;
      if (wanted_changed) {
        next = wanted;
        wanted_changed = false;
      }
    }
    DrainEvents();
    const uint64_t now = MonotonicNs();
    if (next) {
      // New endpoints need a route each; gone ones lose their entry. Others stay as they are.
      const std::shared_ptr<const Endpoints> prev = std::move(endpoints);
      endpoints = next;
      for (const auto& [id, addr] : *prev) {
        const IPAddr* now = Find(*next, id);
        if (now && *now == addr) continue;
        auto r = routes.find(id);
        if (r != routes.end()) {
          auto u = users.find({r->second.oif, r->second.via});
          if (u != users.end() && u->second.erase(id) && u->second.empty()) users.erase(u);
          routes.erase(r);
        }
        Write(id, lb_nexthop{});
      }
      if (!resync)
        for (const auto& [id, addr] : *next) {
          const IPAddr* before = Find(*prev, id);
          if (before && *before == addr) continue;
          AddRoute(id, addr);
          Write(id, Compose(id));
        }
    }
    if (resync || now - last_resync >= kResyncNs) Resync();
    if (now - last_renew >= uint64_t(kRenewMs) * 1'000'000) {
      Renew(now + kPromiseNs);
      last_renew = now;
    }
    Publish();
    {
      std::lock_guard<std::mutex> lock(mu);
      done = requested_now;
    }
    cv.notify_all();
    pollfd fds[2] = {{nl_socket_get_fd(events), POLLIN, 0}, {wake_fd, POLLIN, 0}};
    const uint64_t since = MonotonicNs() - last_renew;
    const int wait =
        since >= uint64_t(kRenewMs) * 1'000'000 ? 0 : kRenewMs - int(since / 1'000'000);
    poll(fds, 2, wait);
    uint64_t drained;
    (void)!read(wake_fd, &drained, sizeof(drained));
  }
}

void NextHopTable::Impl::DrainEvents() {
  int rc;
  while ((rc = nl_recvmsgs_default(events)) >= 0) {
  }
  // An overrun lost events, of whatever kind: read everything again.
  if (rc != -NLE_AGAIN) resync = true;
}

void NextHopTable::Impl::OnEvent(nlmsghdr* h) {
  if (h->nlmsg_type != RTM_NEWNEIGH && h->nlmsg_type != RTM_DELNEIGH) {
    // Links, routes, rules, forwarding: rare, and any of them may change many answers.
    resync = true;
    return;
  }
  if (resync || !nlmsg_valid_hdr(h, sizeof(ndmsg))) return;  // a re-read covers it
  const auto* nd = static_cast<const ndmsg*>(nlmsg_data(h));
  if (nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6) return;  // bridge FDB etc.
  nlattr* tb[NDA_MAX + 1];
  if (nlmsg_parse(h, sizeof(ndmsg), tb, NDA_MAX, nullptr) < 0) return;
  auto dst = AddrAttr(nd->ndm_family, tb[NDA_DST]);
  if (!dst) return;
  const NeighKey key{uint32_t(nd->ndm_ifindex), *dst};
  Neighbour n;
  if (h->nlmsg_type == RTM_NEWNEIGH && (nd->ndm_state & kNudValid) && tb[NDA_LLADDR] &&
      nla_len(tb[NDA_LLADDR]) == 6) {
    n.valid = true;
    std::memcpy(n.mac.data(), nla_data(tb[NDA_LLADDR]), 6);
  }
  if (n.valid) {
    neighbours[key] = n;
  } else {
    neighbours.erase(key);
  }
  auto u = users.find(key);
  if (u == users.end()) return;
  for (uint32_t id : u->second) {
    const lb_nexthop v = Compose(id);
    auto w = written.find(id);
    if (w != written.end() && std::memcmp(&w->second, &v, sizeof(v)) == 0) continue;
    Write(id, v);
    ++neighbour_updates;
  }
}

void NextHopTable::Impl::Resync() {
  resync = false;
  last_resync = MonotonicNs();
  ++resyncs;
  ReadLinks();
  ReadNeighbours();
  family_ok[0] = DefaultRulesOnly(AF_INET) && Forwarding(AF_INET);
  family_ok[1] = DefaultRulesOnly(AF_INET6) && Forwarding(AF_INET6);
  routes.clear();
  users.clear();
  for (const auto& [id, addr] : *endpoints) AddRoute(id, addr);
  for (const auto& [id, addr] : *endpoints) Write(id, Compose(id));
  // Events that arrived during the re-read may predate it or not; the neighbour ones are
  // idempotent and any other sets `resync` again, so the next turn reads once more.
}

void NextHopTable::Impl::ReadLinks() {
  links.clear();
  ifinfomsg hdr{};
  hdr.ifi_family = AF_UNSPEC;
  Request(query, NewMsg(RTM_GETLINK, NLM_F_DUMP, hdr), [this](nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWLINK || !nlmsg_valid_hdr(h, sizeof(ifinfomsg))) return;
    const auto* ifi = static_cast<const ifinfomsg*>(nlmsg_data(h));
    nlattr* tb[IFLA_MAX + 1];
    if (nlmsg_parse(h, sizeof(ifinfomsg), tb, IFLA_MAX, nullptr) < 0) return;
    Link l;
    l.usable = ifi->ifi_type == ARPHRD_ETHER && (ifi->ifi_flags & IFF_UP) &&
               (ifi->ifi_flags & kIffLowerUp) && tb[IFLA_ADDRESS] &&
               nla_len(tb[IFLA_ADDRESS]) == 6 && tb[IFLA_MTU];
    if (l.usable) {
      std::memcpy(l.mac.data(), nla_data(tb[IFLA_ADDRESS]), 6);
      l.mtu = nla_get_u32(tb[IFLA_MTU]);
    }
    links[uint32_t(ifi->ifi_index)] = l;
  });
}

void NextHopTable::Impl::ReadNeighbours() {
  neighbours.clear();
  for (int family : {AF_INET, AF_INET6}) {
    ndmsg hdr{};
    hdr.ndm_family = uint8_t(family);
    Request(query, NewMsg(RTM_GETNEIGH, NLM_F_DUMP, hdr), [this](nlmsghdr* h) {
      if (h->nlmsg_type != RTM_NEWNEIGH || !nlmsg_valid_hdr(h, sizeof(ndmsg))) return;
      const auto* nd = static_cast<const ndmsg*>(nlmsg_data(h));
      nlattr* tb[NDA_MAX + 1];
      if (nlmsg_parse(h, sizeof(ndmsg), tb, NDA_MAX, nullptr) < 0) return;
      auto dst = AddrAttr(nd->ndm_family, tb[NDA_DST]);
      if (!dst || !(nd->ndm_state & kNudValid) || !tb[NDA_LLADDR] || nla_len(tb[NDA_LLADDR]) != 6)
        return;
      Neighbour n;
      n.valid = true;
      std::memcpy(n.mac.data(), nla_data(tb[NDA_LLADDR]), 6);
      neighbours[{uint32_t(nd->ndm_ifindex), *dst}] = n;
    });
  }
}

bool NextHopTable::Impl::DefaultRulesOnly(int family) {
  // The rules every namespace starts with (lookup local, main, default; nothing else matched):
  // with them the route depends on the destination alone, so one answer serves every client.
  bool only_default = true;
  fib_rule_hdr hdr{};
  hdr.family = uint8_t(family);
  const int rc = Request(query, NewMsg(RTM_GETRULE, NLM_F_DUMP, hdr), [&](nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWRULE || !nlmsg_valid_hdr(h, sizeof(fib_rule_hdr))) return;
    const auto* r = static_cast<const fib_rule_hdr*>(nlmsg_data(h));
    nlattr* tb[FRA_MAX + 1];
    if (nlmsg_parse(h, sizeof(fib_rule_hdr), tb, FRA_MAX, nullptr) < 0) {
      only_default = false;
      return;
    }
    uint32_t table = r->table;
    if (tb[FRA_TABLE]) table = nla_get_u32(tb[FRA_TABLE]);
    bool plain = r->action == FR_ACT_TO_TBL && r->dst_len == 0 && r->src_len == 0 && r->tos == 0 &&
                 r->flags == 0 &&
                 (table == RT_TABLE_LOCAL || table == RT_TABLE_MAIN || table == RT_TABLE_DEFAULT);
    for (int t = 1; t <= FRA_MAX && plain; ++t) {
      if (!tb[t] || t == FRA_TABLE || t == FRA_PRIORITY || t == FRA_PROTOCOL) continue;
      plain = t == FRA_SUPPRESS_PREFIXLEN && nla_get_u32(tb[t]) == kNoSuppress;
    }
    only_default = only_default && plain;
  });
  return rc >= 0 && only_default;
}

bool NextHopTable::Impl::Forwarding(int family) {
  // What bpf_fib_lookup checks before answering: IPv4 the receiving interface's own setting,
  // IPv6 the namespace-wide one.
  if (family == AF_INET6) return ReadFlag("/proc/sys/net/ipv6/conf/all/forwarding");
  for (uint32_t idx : ingress) {
    char name[IF_NAMESIZE] = {};
    if (!if_indextoname(idx, name)) return false;
    if (!ReadFlag(std::string("/proc/sys/net/ipv4/conf/") + name + "/forwarding")) return false;
  }
  return true;
}

Route NextHopTable::Impl::ResolveRoute(const IPAddr& dst) {
  // RTM_F_FIB_MATCH: the route entry the lookup matched, as it is in the FIB, so a multipath
  // route shows all its next hops instead of the one this lookup's hash picked.
  rtmsg hdr{};
  hdr.rtm_family = uint8_t(AfOf(dst));
  hdr.rtm_dst_len = uint8_t(dst.bits());
  hdr.rtm_flags = RTM_F_FIB_MATCH;
  nl_msg* msg = NewMsg(RTM_GETROUTE, 0, hdr);
  const auto bytes = dst.bytes();
  nla_put(msg, RTA_DST, dst.is_v4() ? 4 : 16, bytes.data());
  Route out;
  Request(query, msg, [&](nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWROUTE || !nlmsg_valid_hdr(h, sizeof(rtmsg))) return;
    const auto* rt = static_cast<const rtmsg*>(nlmsg_data(h));
    nlattr* tb[RTA_MAX + 1];
    if (nlmsg_parse(h, sizeof(rtmsg), tb, RTA_MAX, nullptr) < 0) return;
    if (rt->rtm_type != RTN_UNICAST || tb[RTA_ENCAP] || tb[RTA_VIA]) return;
    uint32_t oif = tb[RTA_OIF] ? nla_get_u32(tb[RTA_OIF]) : 0;
    auto gw = AddrAttr(rt->rtm_family, tb[RTA_GATEWAY]);
    if (tb[RTA_MULTIPATH]) {
      const auto* nh = static_cast<const rtnexthop*>(nla_data(tb[RTA_MULTIPATH]));
      const int len = nla_len(tb[RTA_MULTIPATH]);
      if (len < int(sizeof(rtnexthop)) || RTNH_ALIGN(nh->rtnh_len) < len) return;  // > 1 hop
      oif = uint32_t(nh->rtnh_ifindex);
      nlattr* sub[RTA_MAX + 1];
      if (nla_parse(sub, RTA_MAX, reinterpret_cast<nlattr*>(RTNH_DATA(nh)),
                    nh->rtnh_len - int(sizeof(rtnexthop)), nullptr) < 0 ||
          sub[RTA_ENCAP] || sub[RTA_VIA])
        return;
      gw = AddrAttr(rt->rtm_family, sub[RTA_GATEWAY]);
    }
    if (!oif) return;  // a nexthop object it cannot see through, or a route without a device
    if (tb[RTA_METRICS]) {
      nlattr* mx[RTAX_MAX + 1];
      if (nla_parse_nested(mx, RTAX_MAX, tb[RTA_METRICS], nullptr) == 0 && mx[RTAX_MTU])
        out.mtu = nla_get_u32(mx[RTAX_MTU]);
    }
    out.oif = oif;
    out.via = gw ? *gw : dst;
  });
  return out;
}

void NextHopTable::Impl::AddRoute(uint32_t id, const IPAddr& addr) {
  const Route r = ResolveRoute(addr);
  if (!r.oif) return;
  routes[id] = r;
  users[{r.oif, r.via}].insert(id);
}

lb_nexthop NextHopTable::Impl::Compose(uint32_t id) const {
  lb_nexthop v{};
  const IPAddr* addr = Find(*endpoints, id);
  auto r = routes.find(id);
  if (!addr || r == routes.end() || !r->second.oif) return v;
  if (!family_ok[addr->is_v4() ? 0 : 1]) return v;
  auto l = links.find(r->second.oif);
  if (l == links.end() || !l->second.usable) return v;
  auto n = neighbours.find({r->second.oif, r->second.via});
  if (n == neighbours.end() || !n->second.valid) return v;
  // The smaller of the interface's and the route's MTU: never longer than bpf_fib_lookup allows
  // (a PMTU exception the kernel learned for the endpoint is not seen here; such frames are
  // sent whole, as the endpoint's own interface MTU allows).
  uint32_t mtu = l->second.mtu;
  if (r->second.mtu) mtu = std::min(mtu, r->second.mtu);
  const auto bytes = addr->bytes();
  std::memcpy(v.addr, bytes.data(), addr->is_v4() ? 4 : 16);
  v.ifindex = r->second.oif;
  v.mtu = uint16_t(std::min<uint32_t>(mtu, 0xffff));
  std::memcpy(v.dmac, n->second.mac.data(), 6);
  std::memcpy(v.smac, l->second.mac.data(), 6);
  v.family = addr->is_v4() ? LB_FAMILY_V4 : LB_FAMILY_V6;
  return v;
}

void NextHopTable::Impl::Write(uint32_t id, const lb_nexthop& v) {
  auto w = written.find(id);
  const bool empty = v.ifindex == 0;
  if (w == written.end() ? empty : std::memcmp(&w->second, &v, sizeof(v)) == 0) return;
  // An array slot is copied without a lock: a reader racing this write may see a mix of the two
  // answers for one frame -- only while the old answer is being replaced anyway.
  if (bpf_map_update_elem(map_fd, &id, &v, BPF_ANY) != 0) {
    log::Warn(kLog, "cannot write the next hop of backend " + std::to_string(id) + ": " +
                        std::strerror(errno));
    return;
  }
  if (empty) {
    written.erase(id);
  } else {
    written[id] = v;
  }
}

void NextHopTable::Impl::Renew(uint64_t until) {
  const uint32_t zero = 0;
  const lb_nexthop_live live{until};
  if (bpf_map_update_elem(live_fd, &zero, &live, BPF_ANY) != 0)
    log::Warn(kLog, std::string("cannot renew lb_nexthop_live: ") + std::strerror(errno));
}

void NextHopTable::Impl::ClearMap() {
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(map_fd, &info, &len) != 0) return;
  const lb_nexthop empty{};
  lb_nexthop v{};
  for (uint32_t id = 0; id < info.max_entries; ++id)
    if (bpf_map_lookup_elem(map_fd, &id, &v) == 0 && v.ifindex != 0)
      bpf_map_update_elem(map_fd, &id, &empty, BPF_ANY);
}

void NextHopTable::Impl::Publish() {
  NextHopStats s;
  s.endpoints = endpoints->size();
  s.answered = written.size();
  s.resyncs = resyncs;
  s.neighbour_updates = neighbour_updates;
  std::lock_guard<std::mutex> lock(mu);
  stats = s;
}

}  // namespace ironlb::dataplane
