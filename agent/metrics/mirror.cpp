#include "metrics/mirror.h"

#include <string>

#include "metrics/family.h"

namespace ironlb {
namespace {

// Drops the series of `series` (label value -> metric) whose value is not in `keep`.
template <typename T, typename Series, typename Keep, typename MetricOf>
void RemoveAbsent(prometheus::Family<T>& family, Series& series, const Keep& keep,
                  MetricOf metric_of) {
  for (auto it = series.begin(); it != series.end();) {
    if (keep.count(it->first)) {
      ++it;
      continue;
    }
    family.Remove(metric_of(it->second));
    it = series.erase(it);
  }
}

}  // namespace

void CounterMirror::Update(const std::map<std::string, uint64_t>& totals) {
  for (const auto& [value, total] : totals) {
    auto it = series_.find(value);
    if (it == series_.end())
      it = series_.emplace(value, Series{&family_.Add({{label_, SafeLabelValue(value)}}), 0}).first;
    Series& s = it->second;
    const uint64_t grew = total >= s.seen ? total - s.seen : total;
    if (grew > 0) s.counter->Increment(static_cast<double>(grew));
    s.seen = total;
  }
  RemoveAbsent(family_, series_, totals, [](const Series& s) { return s.counter; });
}

void GaugeMirror::Update(const std::map<std::string, double>& values) {
  for (const auto& [value, v] : values) {
    auto it = series_.find(value);
    if (it == series_.end())
      it = series_.emplace(value, &family_.Add({{label_, SafeLabelValue(value)}})).first;
    it->second->Set(v);
  }
  RemoveAbsent(family_, series_, values, [](prometheus::Gauge* g) { return g; });
}

void GaugeSet::Update(const std::map<prometheus::Labels, double>& values) {
  for (const auto& [labels, v] : values) {
    auto it = series_.find(labels);
    if (it == series_.end()) {
      prometheus::Labels clean;
      for (const auto& [k, lv] : labels) clean[k] = SafeLabelValue(lv);
      it = series_.emplace(labels, &family_.Add(clean)).first;
    }
    it->second->Set(v);
  }
  RemoveAbsent(family_, series_, values, [](prometheus::Gauge* g) { return g; });
}

}  // namespace ironlb
