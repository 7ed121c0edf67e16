// The L2 speaker's thin apply into the XDP maps: lb_l2 entries for this node's ownership
// (computed purely, written by difference) and the liveness stamp the XDP responder is fenced on.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "dataplane/map_layout.h"
#include "dataplane/map_ops.h"
#include "l2/election.h"

namespace ironlb::l2 {

using dataplane::Bytes;

// lb_l2 as this node should hold it: for a VIP this node owns, OWNED on every interface (the
// ifindex-0 wildcard) or, when the advertisement names interfaces, SILENT on the wildcard and
// OWNED on each named one (unknown names skipped); for a VIP another node owns or nobody can
// own, SILENT, so neither XDP nor the kernel answers for it here.
std::map<Bytes, Bytes> L2Entries(const std::vector<Ownership>& owners, const std::string& self,
                                 const std::map<std::string, uint32_t>& ifindex);

class L2MapWriter {
 public:
  // Reads what lb_l2 holds now (a restarted agent inherits its predecessor's entries).
  explicit L2MapWriter(dataplane::MapOps& ops);
  struct Stats {
    size_t written = 0;
    size_t removed = 0;
  };
  // Deletes stale entries after writing new ones' SILENT states first, so a VIP moving away
  // goes quiet at once. Throws std::runtime_error on kernel errors (the next sync retries).
  Stats Sync(const std::map<Bytes, Bytes>& want);
  // The liveness stamp: CLOCK_MONOTONIC now, and how old it may get before XDP stops answering
  // (0: never fenced).
  void Stamp(uint64_t now_ns, uint64_t max_age_ns);
  size_t size() const { return applied_.size(); }

 private:
  dataplane::MapOps& ops_;
  std::map<Bytes, Bytes> applied_;
};

// The per-VIP ARP/NDP counters XDP keeps in lb_l2_stats (per CPU, summed here), by VIP; entries
// for VIPs not in `keep` are deleted (the VIP left, or moved: its counts start over next time).
std::map<IPAddr, lb_l2_counter> ReadL2Counters(dataplane::MapOps& ops,
                                               const std::set<IPAddr>& keep);

}  // namespace ironlb::l2
