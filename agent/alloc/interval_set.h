// A set of 128-bit integers kept as merged, disjoint closed intervals, so "lowest value not
// in the set" is O(1) and insert/erase are O(log intervals): the allocator's free-space index.
#pragma once

#include <cstddef>
#include <map>

#include "model/ip.h"

namespace ironlb::alloc {

class IntervalSet {
 public:
  // Each returns whether the set changed.
  bool Insert(u128 x);
  bool Erase(u128 x);
  bool Contains(u128 x) const;
  // The lowest value >= 0 not in the set (may be past the caller's universe; caller checks).
  // `*overflow` is set when every value up to 2^128-1 is taken.
  u128 LowestAbsent(bool* overflow) const;
  u128 count() const { return count_; }  // values in the set (saturating at 2^128-1)
  size_t intervals() const { return iv_.size(); }
  bool empty() const { return iv_.empty(); }

 private:
  std::map<u128, u128> iv_;  // first -> last, disjoint and non-adjacent
  u128 count_ = 0;
};

}  // namespace ironlb::alloc
