// The token bucket behaves like client-go's: a burst at once, then QPS-spaced, refilling.
#include "kube/rate_limiter.h"

#include <gtest/gtest.h>

namespace ironlb::kube {
namespace {

using namespace std::chrono_literals;

TEST(TokenBucket, BurstThenSpacedAtQps) {
  const auto t0 = TokenBucket::Clock::time_point{} + 1h;
  TokenBucket b({5, 10}, t0);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b.Reserve(t0), 0ns) << i;
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(b.Reserve(t0)), 200ms);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(b.Reserve(t0)), 400ms);
  // Two seconds later: the two promised tokens are paid, eight more have accrued.
  for (int i = 0; i < 8; ++i) EXPECT_EQ(b.Reserve(t0 + 2s), 0ns) << i;
  EXPECT_GT(b.Reserve(t0 + 2s), 0ns);
}

TEST(TokenBucket, NeverMoreThanBurstAfterIdle) {
  const auto t0 = TokenBucket::Clock::time_point{} + 1h;
  TokenBucket b({5, 10}, t0);
  for (int i = 0; i < 10; ++i) b.Reserve(t0 + 1h);
  EXPECT_GT(b.Reserve(t0 + 1h), 0ns);
}

TEST(TokenBucket, ZeroQpsIsUnlimited) {
  const auto t0 = TokenBucket::Clock::time_point{};
  TokenBucket b({0, 1}, t0);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(b.Reserve(t0), 0ns);
}

}  // namespace
}  // namespace ironlb::kube
