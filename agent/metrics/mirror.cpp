#include "metrics/counter_mirror.h"

namespace ironlb {

void CounterMirror::Update(const std::map<std::string, uint64_t>& totals) {
  for (const auto& [value, total] : totals) {
    auto it = series_.find(value);
    if (it == series_.end())
      it = series_.emplace(value, Series{&family_.Add({{label_, value}}), 0}).first;
    Series& s = it->second;
    const uint64_t grew = total >= s.seen ? total - s.seen : total;
    if (grew > 0) s.counter->Increment(static_cast<double>(grew));
    s.seen = total;
  }
  for (auto it = series_.begin(); it != series_.end();) {
    if (totals.count(it->first)) {
      ++it;
      continue;
    }
    family_.Remove(it->second.counter);
    it = series_.erase(it);
  }
}

}  // namespace ironlb
