#include "metrics/mirror.h"

#include <string>

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

// The exposition format is UTF-8: one stray byte in a label value breaks the whole scrape.
// Names are validated long before they get here; this is the last edge, so it never trusts that.
std::string LabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size();) {
    const auto c = static_cast<unsigned char>(v[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    bool ok = len > 0 && i + len <= v.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(v[i + k]) >> 6) == 0x2;
    if (ok) {
      out.append(v, i, len);
      i += len;
    } else {
      out += "\xef\xbf\xbd";  // U+FFFD
      ++i;
    }
  }
  return out;
}

}  // namespace

void CounterMirror::Update(const std::map<std::string, uint64_t>& totals) {
  for (const auto& [value, total] : totals) {
    auto it = series_.find(value);
    if (it == series_.end())
      it = series_.emplace(value, Series{&family_.Add({{label_, LabelValue(value)}}), 0}).first;
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
      it = series_.emplace(value, &family_.Add({{label_, LabelValue(value)}})).first;
    it->second->Set(v);
  }
  RemoveAbsent(family_, series_, values, [](prometheus::Gauge* g) { return g; });
}

}  // namespace ironlb
