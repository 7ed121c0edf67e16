// Metric families built by hand at scrape time, for collectables that read their values from
// elsewhere (per-CPU BPF maps) on every scrape instead of keeping registry series in step.
#pragma once

#include <prometheus/labels.h>
#include <prometheus/metric_family.h>

#include <string>

namespace ironlb {

prometheus::MetricFamily MakeFamily(std::string name, std::string help,
                                    prometheus::MetricType type);
// Appends one sample; label values are made valid UTF-8 (see SafeLabelValue).
void AddSample(prometheus::MetricFamily& family, const prometheus::Labels& labels, double value);

// The exposition format is UTF-8: one stray byte in a label value breaks the whole scrape, so
// invalid sequences become U+FFFD.
std::string SafeLabelValue(const std::string& v);

}  // namespace ironlb
