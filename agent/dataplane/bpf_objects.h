// Loads ironlb's two BPF objects (xdp_lb, tc_lb) from their generated skeletons so that they
// share one set of maps, optionally pinned under a bpffs directory and reused from there.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "dataplane/map_layout.h"

struct xdp_lb;
struct tc_lb;
struct bpf_object;

namespace ironlb::dataplane {

struct LoadOptions {
  std::string pin_dir;  // empty: maps are not pinned (tests)
  std::optional<uint64_t> max_ct_inserts_per_sec;
  // Map sizes; 0 keeps the compiled default (LB_MAX_SERVICES, LB_MAX_BACKENDS).
  uint32_t max_services = 0;
  uint32_t max_backends = 0;
  // Whether xdp_lb consults the agent's next-hop table before the FIB (bpf/nexthop.h); false
  // removes the table's code from the program. Harmless while nothing fills the table.
  bool nexthop_table = true;
  // Entries of the per-CPU flow cache in front of conntrack (bpf/flow_cache.h), all CPUs
  // together; 0 turns it off.
  uint32_t flow_cache_entries = LB_FLOW_CACHE_DEFAULT_ENTRIES;
  // The MTU tc_lb clamps VIP flows' SYN-ACK MSS to fit once encapsulated (bpf/mss.h):
  // LB_MSS_CLAMP_AUTO (the uplink's own MTU), LB_MSS_CLAMP_OFF, or an MTU.
  uint32_t mss_clamp_mtu = LB_MSS_CLAMP_AUTO;
};

// RAII owner of both skeletons. xdp_lb may be opened but not loaded, for libxdp to load it as a
// dispatcher component; Finish() then loads tc_lb against the maps libxdp created.
class BpfObjects {
 public:
  ~BpfObjects();
  BpfObjects(const BpfObjects&) = delete;
  BpfObjects& operator=(const BpfObjects&) = delete;

  // The flow cache's sets per CPU for `entries` in all on `cpus` CPUs: each CPU's share, in sets
  // of two, rounded down to a power of two (0: off).
  static uint32_t FlowCacheSetsPerCpu(uint32_t entries, uint32_t cpus);

  // Opens xdp_lb (not loaded) with pinning and knobs set. Throws std::runtime_error.
  static std::unique_ptr<BpfObjects> Open(const LoadOptions& opts);
  // Opens and loads both objects; the usual path and the tests'.
  static std::unique_ptr<BpfObjects> OpenAndLoad(const LoadOptions& opts);

  // Loads xdp_lb unless someone (libxdp) already did, then tc_lb reusing xdp_lb's maps.
  void Finish();

  xdp_lb* xdp() const { return xdp_; }
  tc_lb* tc() const { return tc_; }
  bpf_object* xdp_object() const;
  int xdp_prog_fd() const;
  int tc_prog_fd() const;
  int tc_ingress_prog_fd() const;
  // fd of a map by its BPF name (LB_MAP_*); -1 if unknown.
  int map_fd(const std::string& name) const;

 private:
  BpfObjects() = default;
  LoadOptions opts_;
  xdp_lb* xdp_ = nullptr;
  tc_lb* tc_ = nullptr;
  bool xdp_loaded_by_us_ = false;
};

}  // namespace ironlb::dataplane
