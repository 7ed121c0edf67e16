// Mirrors state kept elsewhere (BGP sessions, allocator usage) into Prometheus series, one per
// label value: counters add what grew since the last update, gauges take the value as is. The
// data plane's BPF counters are not mirrored: they are read at scrape time (metrics/family.h).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include <cstdint>
#include <map>
#include <string>

namespace ironlb {

class CounterMirror {
 public:
  CounterMirror(prometheus::Family<prometheus::Counter>& family, std::string label)
      : family_(family), label_(std::move(label)) {}

  // `totals`: label value -> the source's running total. A total below the last one seen means
  // the source started over (a session rebuilt, a map recreated): its whole value is new.
  // Series whose label value is absent are removed.
  void Update(const std::map<std::string, uint64_t>& totals);

 private:
  struct Series {
    prometheus::Counter* counter;
    uint64_t seen;
  };
  prometheus::Family<prometheus::Counter>& family_;
  std::string label_;
  std::map<std::string, Series> series_;
};

class GaugeMirror {
 public:
  GaugeMirror(prometheus::Family<prometheus::Gauge>& family, std::string label)
      : family_(family), label_(std::move(label)) {}

  // label value -> current value; series whose label value is absent are removed.
  void Update(const std::map<std::string, double>& values);

 private:
  prometheus::Family<prometheus::Gauge>& family_;
  std::string label_;
  std::map<std::string, prometheus::Gauge*> series_;
};

// Gauges with several labels (metallb_speaker_announced{service,protocol,node,ip}): after
// Update the series present are exactly the label sets given.
class GaugeSet {
 public:
  explicit GaugeSet(prometheus::Family<prometheus::Gauge>& family) : family_(family) {}

  void Update(const std::map<prometheus::Labels, double>& values);

 private:
  prometheus::Family<prometheus::Gauge>& family_;
  std::map<prometheus::Labels, prometheus::Gauge*> series_;
};

}  // namespace ironlb
