// Neighbour entries for the next hops towards the nodes that endpoints are encapsulated to, kept
// resolved by the kernel, because XDP's bpf_fib_lookup cannot resolve one (it answers NO_NEIGH).
//
// The agent creates a "managed" entry (NTF_EXT_MANAGED, Linux 5.16; the kernel resolves it at
// once and keeps it reachable) marked with its own protocol number, re-creates it when a link
// flap flushes it, re-asks at once when the link comes back, and removes it when no endpoint is
// on that node any more. An entry someone else made (the kernel's own dynamic one, an operator's
// permanent one) is never touched: the agent sends the node an empty UDP datagram instead, which
// has the kernel resolve or confirm it -- as for every node on kernels without managed entries.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "model/ip.h"
#include "runtime/netlink_events.h"

namespace ironlb::dataplane {

// The protocol number (NDA_PROTOCOL, as RTPROT_* for routes) that marks ironlb's entries: a new
// agent finds and adopts what the previous one left, and nothing else.
inline constexpr uint8_t kNeighbourProtocol = 177;

// Where the kernel sends packets for a node: the interface and the next hop's address (the node
// itself on a shared segment, else the gateway).
struct NextHop {
  uint32_t ifindex = 0;
  IPAddr addr;
  auto operator<=>(const NextHop&) const = default;
};

// One entry of the kernel's neighbour tables, as a dump shows it.
struct NeighbourEntry {
  NextHop hop;
  uint16_t state = 0;    // NUD_*
  uint8_t protocol = 0;  // NDA_PROTOCOL; 0 when absent
  bool managed = false;  // NTF_EXT_MANAGED
  bool ours() const { return protocol == kNeighbourProtocol; }
};

// What to do to bring the kernel's entries to the wanted next hops.
struct NeighbourPlan {
  std::vector<NextHop> create;    // absent: a managed entry of ours
  std::vector<NextHop> recreate;  // ours, failed (or not yet resolved when a link came back)
  std::vector<NextHop> remove;    // ours, for no wanted node
  std::vector<IPAddr> probe;      // nodes whose next hop is someone else's entry (or unmanaged)
  bool managed_ignored = false;   // an entry of ours lacks the managed flag: the kernel is older
};

// Pure: `wanted` maps each node to its next hop; `kernel` is the dump; `link_up` says a link just
// came back (so an entry of ours still resolving is asked again now, not at its next retry);
// `managed` is false on kernels without managed entries (every node probed, ours removed).
NeighbourPlan PlanNeighbours(const std::map<IPAddr, NextHop>& wanted,
                             const std::vector<NeighbourEntry>& kernel, bool link_up, bool managed);

// The kernel side, through rtnetlink. Not thread-safe: one thread drives it (the data plane's
// worker). Errors are logged, never thrown: a node that cannot be resolved now is retried on the
// next Refresh.
class NodeNeighbours {
 public:
  NodeNeighbours();
  ~NodeNeighbours();
  NodeNeighbours(const NodeNeighbours&) = delete;
  NodeNeighbours& operator=(const NodeNeighbours&) = delete;

  // The nodes wanted from now on; acts at once (before the maps name them, so that their first
  // packets find the next hop resolved).
  void Set(const std::set<IPAddr>& nodes);
  // Routes asked again, entries brought to the plan, probes sent. Callers repeat it now and then
  // and when neighbours or links change (NeighbourWatch).
  void Refresh(bool link_up = false);
  // Removes every entry of ours (uninstall).
  static void RemoveAll();
  // Mode and, per node, its next hop and who holds the entry, as of the last Refresh.
  nlohmann::json Status() const;

 private:
  std::set<IPAddr> nodes_;
  bool managed_ = true;
  nlohmann::json status_ = nlohmann::json::array();
};

// rtnetlink neighbour and link events on the agent's io_context: calls `changed(link_up)` when a
// neighbour entry goes away (a flush, garbage collection) or fails, and with true when a link's
// carrier comes back. Events are not filtered further: Refresh is cheap, and callers coalesce.
class NeighbourWatch {
 public:
  NeighbourWatch(boost::asio::io_context& io, std::function<void(bool link_up)> changed);

 private:
  void OnMessage(const nlmsghdr& h);

  std::function<void(bool)> changed_;
  std::map<int, bool> carrier_;         // ifindex -> carrier, as last seen
  bool any_ = false, link_up_ = false;  // what one drain of the socket saw
  NetlinkEvents events_;                // last: its callbacks use the members above
};

}  // namespace ironlb::dataplane
