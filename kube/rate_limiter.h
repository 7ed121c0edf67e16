// Client-side request rate limiting, a token bucket like client-go's (default 5 QPS, burst 10),
// so a reconnect storm or a relist of every kind cannot flood the API server.
#pragma once

#include <chrono>

namespace ironlb::kube {

struct RateLimit {
  double qps = 5;
  int burst = 10;
};

// Pure: the caller passes the clock. Reserve() takes one token and says how long to wait
// before using it (zero when one is available now); reservations queue in order.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  TokenBucket(RateLimit limit, Clock::time_point now);

  Clock::duration Reserve(Clock::time_point now);

 private:
  RateLimit limit_;
  double tokens_;  // may go negative: tokens promised to waiting requests
  Clock::time_point last_;
};

}  // namespace ironlb::kube
