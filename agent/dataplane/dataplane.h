// The data plane facade the agent drives: Open() loads ironlb's BPF programs with their maps
// pinned under a bpffs directory and attaches them (or adopts what a previous agent left running),
// Apply() syncs a DesiredDataplane into the maps by difference, Status() reports both.
// Not thread-safe as a whole: one thread drives it (the agent's data-plane worker); only
// Detached() and ReasonCounts(), which read what Open() fixed, may be called from another.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "dataplane/attach.h"
#include "dataplane/bpf_objects.h"
#include "dataplane/desired.h"
#include "dataplane/map_ops.h"
#include "dataplane/map_sync.h"
#include "dataplane/nexthop_table.h"
#include "dataplane/node_neighbours.h"
#include "dataplane/tc_guard.h"

namespace ironlb::dataplane {

struct DataplaneOptions {
  std::string bpffs = "/sys/fs/bpf/ironlb";
  std::vector<std::string> interfaces;
  enum class XdpMode { kNative, kGeneric, kAuto } mode = XdpMode::kAuto;
  uint32_t max_services = 0;  // 0: the compiled default
  uint32_t max_backends = 0;
  bool nexthop_table = false;  // xdp_lb takes next hops from a NextHopTable the agent keeps
  uint32_t flow_cache_entries = LB_FLOW_CACHE_DEFAULT_ENTRIES;  // LoadOptions::flow_cache_entries
  uint32_t mss_clamp_mtu = LB_MSS_CLAMP_AUTO;                   // LoadOptions::mss_clamp_mtu
};

class Dataplane {
 public:
  // Loads, pins, attaches; throws std::runtime_error naming what failed.
  static std::unique_ptr<Dataplane> Open(const DataplaneOptions& opts);
  // Detaches ironlb from the interfaces and removes its pinned maps (uninstall, tests).
  static void Remove(const DataplaneOptions& opts);

  // For tests and tools: a data plane over any map implementation, nothing attached.
  Dataplane(std::unique_ptr<MapOps> ops, std::map<std::string, uint32_t> ifindex);
  ~Dataplane();

  // Throws std::runtime_error on kernel errors; what was applied stays applied. Services that
  // do not fit are listed in the result (SyncStats::refused), the rest are served.
  const SyncStats& Apply(const DesiredDataplane& desired);
  nlohmann::json Status() const;
  // The per-reason packet counters ("reasons" of Status()), read from the kernel now. Reads
  // only the counters' map, fixed at Open(): safe from any thread.
  nlohmann::json ReasonCounts() const;
  // XDP can only send to a node whose next hop the kernel has a neighbour entry for: Apply()
  // has NodeNeighbours keep one for each node endpoints are encapsulated to; callers repeat
  // this now and then and when neighbours or links change (NeighbourWatch), `link_up` when a
  // link's carrier came back.
  void KeepNeighbours(bool link_up = false);
  // Interfaces this data plane attached to where xdp_lb no longer runs (someone detached it);
  // empty when every one still carries it. Reads only what Open() fixed: safe from any thread.
  std::vector<std::string> Detached() const;
  // A guard over the tc programs of the interfaces Open() attached to (null for a data plane
  // without kernel objects). It uses only what Open() fixed, so it may run on another thread than
  // the one driving this object; it must not outlive it.
  std::unique_ptr<TcGuard> MakeTcGuard() const;

 private:
  Dataplane() = default;
  // The endpoints xdp_lb DNATs and forwards itself (not those encapsulated to other nodes).
  NextHopTable::Endpoints LocalEndpoints() const;
  std::vector<std::unique_ptr<BpfObjects>> objects_;
  std::unique_ptr<MapOps> ops_;
  std::unique_ptr<MapSync> sync_;
  std::unique_ptr<NextHopTable> nexthops_;  // after objects_: stops before the maps close
  std::map<std::string, uint32_t> ifindex_;
  std::vector<InterfaceAttachment> attachments_;
  SyncStats last_;
  bool reason_counters_ = false;  // lb_reason_stats is in ops_ (not with a test's fake maps)
  // Only a data plane on the kernel's maps keeps neighbour entries.
  std::unique_ptr<NodeNeighbours> neighbours_;
  std::set<IPAddr> tunnels_;
};

// Makes sure `dir` exists on a bpf filesystem, mounting one there if its parent is not.
void EnsureBpffs(const std::string& dir);

}  // namespace ironlb::dataplane
