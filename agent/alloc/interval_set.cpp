#include "alloc/interval_set.h"

#include <iterator>

namespace ironlb::alloc {

namespace {
constexpr u128 kMax = ~u128(0);
}

bool IntervalSet::Contains(u128 x) const {
  auto it = iv_.upper_bound(x);
  if (it == iv_.begin()) return false;
  --it;
  return x <= it->second;
}

bool IntervalSet::Insert(u128 x) {
  auto next = iv_.upper_bound(x);
  auto prev = next == iv_.begin() ? iv_.end() : std::prev(next);
  if (prev != iv_.end() && x <= prev->second) return false;
  const bool joins_prev = prev != iv_.end() && prev->second + 1 == x;
  const bool joins_next = next != iv_.end() && x != kMax && x + 1 == next->first;
  if (joins_prev && joins_next) {
    prev->second = next->second;
    iv_.erase(next);
  } else if (joins_prev) {
    prev->second = x;
  } else if (joins_next) {
    const u128 last = next->second;
    iv_.erase(next);
    iv_.emplace(x, last);
  } else {
    iv_.emplace(x, x);
  }
  if (count_ != kMax) ++count_;
  return true;
}

bool IntervalSet::Erase(u128 x) {
  auto it = iv_.upper_bound(x);
  if (it == iv_.begin()) return false;
  --it;
  if (x > it->second) return false;
  const u128 first = it->first;
  const u128 last = it->second;
  iv_.erase(it);
  if (first < x) iv_.emplace(first, x - 1);
  if (x < last) iv_.emplace(x + 1, last);
  if (count_ != kMax) --count_;
  return true;
}

u128 IntervalSet::LowestAbsent(bool* overflow) const {
  *overflow = false;
  if (iv_.empty() || iv_.begin()->first != 0) return 0;
  const u128 last = iv_.begin()->second;
  if (last == kMax) {
    *overflow = true;
    return 0;
  }
  return last + 1;
}

}  // namespace ironlb::alloc
