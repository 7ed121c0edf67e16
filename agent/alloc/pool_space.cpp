#include "alloc/pool_space.h"

#include <algorithm>

namespace ironlb::alloc {
namespace {
constexpr u128 kMaxValue = ~u128(0);
u128 SaturatingAdd(u128 a, u128 b) {
  return a > kMaxValue - b ? kMaxValue : a + b;
}
}  // namespace

PoolSpace::PoolSpace(const IPAddressPool& pool) : pool_(pool) {
  for (const auto& r : pool_.ranges) spans_.emplace_back(r, pool_.avoid_buggy_ips);
  by_address_.resize(spans_.size());
  for (size_t i = 0; i < spans_.size(); ++i) by_address_[i] = i;
  std::sort(by_address_.begin(), by_address_.end(),
            [&](size_t a, size_t b) { return spans_[a].range().first < spans_[b].range().first; });
  for (size_t i = 1; i < by_address_.size(); ++i) {
    if (spans_[by_address_[i - 1]].range().overlaps(spans_[by_address_[i]].range())) {
      overlapping_ = true;
    }
  }
  for (size_t i = 0; i < spans_.size(); ++i) Refresh(i);
}

template <typename Fn>
void PoolSpace::ForEachSpanContaining(const IPAddr& ip, Fn fn) const {
  if (overlapping_) {
    for (size_t i = 0; i < spans_.size(); ++i) {
      if (spans_[i].range().contains(ip)) fn(i);
    }
    return;
  }
  auto it =
      std::upper_bound(by_address_.begin(), by_address_.end(), ip,
                       [&](const IPAddr& a, size_t s) { return a < spans_[s].range().first; });
  if (it == by_address_.begin()) return;
  const size_t s = *std::prev(it);
  if (spans_[s].range().contains(ip)) fn(s);
}

std::optional<PoolPosition> PoolSpace::Position(const IPAddr& ip) const {
  std::optional<PoolPosition> best;
  ForEachSpanContaining(ip, [&](size_t s) {
    if (best) return;
    if (auto idx = spans_[s].IndexOf(ip)) best = PoolPosition{s, *idx};
  });
  return best;
}

bool PoolSpace::SkipsAsBuggy(const IPAddr& ip) const {
  if (!pool_.avoid_buggy_ips || !ConfusesBuggyFirmware(ip)) return false;
  return std::any_of(spans_.begin(), spans_.end(),
                     [&](const AddressSpan& s) { return s.range().contains(ip); });
}

bool PoolSpace::HasFamily(Family f) const {
  return std::any_of(spans_.begin(), spans_.end(),
                     [&](const AddressSpan& s) { return s.family() == f && s.size() > 0; });
}

std::optional<PoolPosition> PoolSpace::FirstFreePosition(Family f) const {
  const auto& free = with_free_[Slot(f)];
  if (free.empty()) return std::nullopt;
  const size_t s = *free.begin();
  auto idx = spans_[s].FirstFreeIndex();
  if (!idx) return std::nullopt;  // cannot happen: Refresh keeps with_free_ exact
  return PoolPosition{s, *idx};
}

std::optional<IPAddr> PoolSpace::FirstFree(Family f) const {
  auto pos = FirstFreePosition(f);
  if (!pos) return std::nullopt;
  return spans_[pos->first].AddressAt(pos->second);
}

void PoolSpace::Refresh(size_t s) {
  auto& set = with_free_[Slot(spans_[s].family())];
  if (spans_[s].full()) {
    set.erase(s);
  } else {
    set.insert(s);
  }
}

void PoolSpace::MarkUsed(const IPAddr& ip) {
  ForEachSpanContaining(ip, [&](size_t s) {
    if (spans_[s].MarkUsed(ip)) Refresh(s);
  });
}

void PoolSpace::MarkFree(const IPAddr& ip) {
  ForEachSpanContaining(ip, [&](size_t s) {
    if (spans_[s].MarkFree(ip)) Refresh(s);
  });
}

u128 PoolSpace::Size(Family f) const {
  u128 total = 0;
  for (const auto& s : spans_) {
    if (s.family() == f) total = SaturatingAdd(total, s.size());
  }
  return total;
}

u128 PoolSpace::Used(Family f) const {
  u128 total = 0;
  for (const auto& s : spans_) {
    if (s.family() == f) total = SaturatingAdd(total, s.used());
  }
  return total;
}

}  // namespace ironlb::alloc
