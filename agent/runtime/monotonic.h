// CLOCK_MONOTONIC in nanoseconds: the clock bpf_ktime_get_ns() reads, so the agent's, ironlbctl's
// and the tests' stamps (liveness, vouches, conntrack ages) compare directly with the programs'.
#pragma once

#include <cstdint>
#include <ctime>

namespace ironlb {

inline uint64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace ironlb
