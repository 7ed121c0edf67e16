#include "kube/rate_limiter.h"

#include <algorithm>

namespace ironlb::kube {

TokenBucket::TokenBucket(RateLimit limit, Clock::time_point now)
    : limit_(limit), tokens_(limit.burst), last_(now) {}

TokenBucket::Clock::duration TokenBucket::Reserve(Clock::time_point now) {
  if (limit_.qps <= 0) return Clock::duration::zero();  // unlimited
  if (now > last_) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min<double>(limit_.burst, tokens_ + elapsed * limit_.qps);
    last_ = now;
  }
  tokens_ -= 1;
  if (tokens_ >= 0) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(-tokens_ / limit_.qps));
}

}  // namespace ironlb::kube
