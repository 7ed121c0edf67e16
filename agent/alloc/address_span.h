// One pool range as a dense index space (avoidBuggyIPs skips .0/.255 in IPv4) whose used
// indices live in an IntervalSet, so the first free address is the lowest absent index.
#pragma once

#include <optional>

#include "alloc/interval_set.h"
#include "model/ip.h"

namespace ironlb::alloc {

// IPv4 addresses ending in .0 or .255, which smurf protection on some CPE firmware drops.
bool ConfusesBuggyFirmware(const IPAddr& ip);

class AddressSpan {
 public:
  AddressSpan(const IPRange& range, bool avoid_buggy);

  const IPRange& range() const { return range_; }
  Family family() const { return range_.family(); }
  // Allocatable addresses (saturating); 0 when avoidBuggyIPs leaves nothing (e.g. a lone .0).
  u128 size() const { return size_; }
  u128 used() const { return used_.count(); }
  bool full() const { return !FirstFreeIndex().has_value(); }

  // The index of `ip`, or nullopt when it is outside the range or skipped as buggy.
  std::optional<u128> IndexOf(const IPAddr& ip) const;
  IPAddr AddressAt(u128 index) const;

  std::optional<u128> FirstFreeIndex() const;
  std::optional<IPAddr> FirstFree() const;
  bool MarkUsed(const IPAddr& ip);  // false if not in the span or already used
  bool MarkFree(const IPAddr& ip);

 private:
  IPRange range_;
  bool dense_v4_;  // avoidBuggyIPs on an IPv4 range: indices skip .0 and .255
  u128 base_ = 0;  // dense position of range_.first (dense_v4_ only)
  u128 size_ = 0;  // saturating
  bool empty_ = false;
  u128 last_index_ = 0;
  IntervalSet used_;
};

}  // namespace ironlb::alloc
