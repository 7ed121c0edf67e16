// One IPAddressPool's address space: its ranges in written (allocation) order with a free-space
// index per range and per family, so finding the first free address never walks the pool.
#pragma once

#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "alloc/address_span.h"
#include "model/objects.h"

namespace ironlb::alloc {

// Where an address sits in a pool's allocation order: (range index as written, index in range).
using PoolPosition = std::pair<size_t, u128>;

class PoolSpace {
 public:
  explicit PoolSpace(const IPAddressPool& pool);

  const IPAddressPool& config() const { return pool_; }
  const std::string& name() const { return pool_.meta.name; }

  // Whether the pool can hand out `ip` (in a range, and not skipped by avoidBuggyIPs).
  bool Contains(const IPAddr& ip) const { return Position(ip).has_value(); }
  // Whether `ip` lies in a range but is skipped because of avoidBuggyIPs (for error messages).
  bool SkipsAsBuggy(const IPAddr& ip) const;
  std::optional<PoolPosition> Position(const IPAddr& ip) const;
  bool HasFamily(Family f) const;

  std::optional<IPAddr> FirstFree(Family f) const;
  std::optional<PoolPosition> FirstFreePosition(Family f) const;
  void MarkUsed(const IPAddr& ip);
  void MarkFree(const IPAddr& ip);

  u128 Size(Family f) const;  // saturating
  u128 Used(Family f) const;

 private:
  static size_t Slot(Family f) { return f == Family::kV4 ? 0 : 1; }
  template <typename Fn>
  void ForEachSpanContaining(const IPAddr& ip, Fn fn) const;
  void Refresh(size_t span);

  IPAddressPool pool_;
  std::vector<AddressSpan> spans_;  // as written
  std::vector<size_t> by_address_;  // span ids sorted by first address
  bool overlapping_ = false;        // ranges overlap each other (validation should prevent it)
  std::set<size_t> with_free_[2];   // per family: spans that still have a free address
};

}  // namespace ironlb::alloc
