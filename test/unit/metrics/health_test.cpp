// /healthz follows the event loop's heartbeat; /readyz also names what keeps the agent from
// serving. Time is passed in: no sleeps.
#include "metrics/health.h"

#include <gtest/gtest.h>

namespace ironlb {
namespace {

using namespace std::chrono_literals;

TEST(Health, LiveWhileTheLoopBeatsAndNotOnceItStops) {
  Health h(10s);
  const auto t0 = Health::Clock::time_point{} + 1h;
  EXPECT_FALSE(h.Live(t0).ok) << "no beat yet: the loop has not started";
  h.Beat({}, t0);
  EXPECT_TRUE(h.Live(t0 + 9s).ok);
  const auto stuck = h.Live(t0 + 11s);
  EXPECT_FALSE(stuck.ok);
  EXPECT_NE(stuck.detail.find("event loop stuck"), std::string::npos) << stuck.detail;
  EXPECT_FALSE(h.Ready(t0 + 11s).ok) << "a stuck loop is not ready either";
}

TEST(Health, ReadyNamesEveryMissingCondition) {
  Health h(10s);
  const auto t0 = Health::Clock::time_point{} + 1h;
  h.Beat({"objects not yet synced from the API server (informers)",
          "dataplane: XDP not attached on eth0"},
         t0);
  EXPECT_TRUE(h.Live(t0).ok);
  const auto r = h.Ready(t0);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.detail.find("informers"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("eth0"), std::string::npos) << r.detail;
  h.Beat({}, t0 + 1s);
  EXPECT_TRUE(h.Ready(t0 + 1s).ok);
}

}  // namespace
}  // namespace ironlb
