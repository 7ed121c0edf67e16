// The next-hop table xdp_lb reads before bpf_fib_lookup (bpf/nexthop.h): for every endpoint the
// kernel's own route and neighbour answer, kept current by a thread that follows rtnetlink link,
// neighbour, route, rule and netconf events through libnl, and that renews lb_nexthop_live.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "model/ip.h"

namespace ironlb::dataplane {

struct NextHopStats {
  size_t endpoints = 0;            // endpoints the table is asked about
  size_t answered = 0;             // of them, with an answer in the map (the rest ask the FIB)
  uint64_t resyncs = 0;            // full re-reads of links, neighbours, rules and routes
  uint64_t neighbour_updates = 0;  // entries rewritten by a neighbour event alone
};

// An endpoint gets an entry only when one answer is right for all its packets, as
// bpf_fib_lookup would give it: a unicast route with one next hop (not multipath, no lightweight
// tunnel, no nexthop object it cannot see through) out of an Ethernet interface that is up, a
// neighbour entry in a NUD_VALID state, forwarding on where the frames arrive, and only the
// default FIB rules for the family (policy routing may choose by the client's address). Anything
// else leaves the slot empty, and xdp_lb asks the FIB per packet as before.
class NextHopTable {
 public:
  // `map_fd`/`live_fd`: lb_nexthops and lb_nexthop_live. `ingress`: the interfaces xdp_lb runs on
  // (their forwarding setting decides, as it does for bpf_fib_lookup). Starts the thread, in the
  // network namespace of the calling thread. Throws std::runtime_error when netlink fails.
  NextHopTable(int map_fd, int live_fd, std::vector<uint32_t> ingress);
  // Withdraws the promise (lb_nexthop_live = 0: the FIB again at once) and stops the thread.
  ~NextHopTable();
  NextHopTable(const NextHopTable&) = delete;
  NextHopTable& operator=(const NextHopTable&) = delete;

  // Backend id -> address, sorted by id, ids distinct.
  using Endpoints = std::vector<std::pair<uint32_t, IPAddr>>;
  // The endpoints to answer for. Thread-safe; applied asynchronously. The table keeps this one
  // set, shared between the caller's side and its thread, not a copy per side.
  void SetEndpoints(Endpoints endpoints);
  // Returns once the thread has handled every event queued and endpoint set given before the
  // call (tests and tools).
  void Sync();
  NextHopStats Stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ironlb::dataplane
