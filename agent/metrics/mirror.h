// Mirrors running totals kept elsewhere (BPF per-CPU counters, BGP session counters) into
// Prometheus counters, which may only grow: each Update adds what grew since the last one.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>

#include <cstdint>
#include <map>
#include <string>

namespace ironlb {

class CounterMirror {
 public:
  // One series per value of `label` in `family`.
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

}  // namespace ironlb
