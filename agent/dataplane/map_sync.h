// Applies a DesiredDataplane to ironlb's maps by difference. It first reads what the maps already
// hold (a restarted agent inherits the pinned maps of its predecessor), keeps backend ids, service
// ids and Maglev tables that are still right, and replaces a changed Maglev table by writing a new
// range and then switching the service to it, so in-flight packets always see a whole table.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "dataplane/desired.h"
#include "dataplane/map_layout.h"
#include "dataplane/map_ops.h"

namespace ironlb::dataplane {

// First-fit allocator of contiguous ranges in the shared Maglev array.
class RangeAllocator {
 public:
  explicit RangeAllocator(uint32_t capacity) : capacity_(capacity) {}
  // Throws std::runtime_error when no gap is large enough.
  uint32_t Allocate(uint32_t size);
  void Reserve(uint32_t base, uint32_t size) { used_[base] = size; }
  void Free(uint32_t base) { used_.erase(base); }
  uint32_t used() const;

 private:
  uint32_t capacity_;
  std::map<uint32_t, uint32_t> used_;  // base -> size
};

struct SyncStats {
  size_t backends_written = 0;
  size_t backends_removed = 0;
  size_t services_written = 0;
  size_t services_removed = 0;
  size_t tables_written = 0;
  size_t rev_nat_written = 0;
  size_t rev_nat_removed = 0;
  size_t l2_written = 0;
  size_t l2_removed = 0;
};

class MapSync {
 public:
  // Reads the current contents through `ops` (which must outlive this object).
  explicit MapSync(MapOps& ops);

  // `ifindex` maps interface names (DesiredL2::interfaces) to their index; unknown names are
  // skipped. Throws std::runtime_error on kernel errors (the next Apply retries the rest).
  SyncStats Apply(const DesiredDataplane& desired, const std::map<std::string, uint32_t>& ifindex);

  nlohmann::json Summary() const;

 private:
  struct ServiceState {
    lb_service value{};
    std::vector<uint32_t> table;  // backend ids, as written in lb_maglev
  };
  void Load();
  uint32_t BackendId(const Bytes& identity);

  MapOps& ops_;
  std::map<Bytes, ServiceState> services_;   // lb_vip_key bytes -> state
  std::map<uint32_t, lb_backend> backends_;  // id -> value (action != NONE)
  std::map<Bytes, uint32_t> backend_ids_;    // identity (addr, port, family) -> id
  std::map<Bytes, Bytes> rev_nat_, l2_;
  RangeAllocator ranges_{LB_MAGLEV_RING_ENTRIES};
  uint32_t next_backend_id_ = 1;
};

}  // namespace ironlb::dataplane
