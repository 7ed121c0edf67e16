// The worker the data plane's map writes run on: the loop never waits for it, a burst of changes
// is worked once (the newest), and a waiting caller gets the job that covers its own.
#include "runtime/latest_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

namespace ironlb {
namespace {

struct Job {
  int version = 0;
};

TEST(LatestWorker, PostNeverWaitsAndOnlyTheNewestWaitingJobIsWorked) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> started;
  std::vector<int> worked;  // only the worker touches it until Stop() joins
  std::atomic<bool> first{true};
  LatestWorker<Job> w([&](Job& j) {
    if (first.exchange(false)) {
      started.set_value();
      released.wait();  // a slow apply
    }
    worked.push_back(j.version);
  });
  w.Post([](Job& j) { j.version = 1; });
  started.get_future().wait();
  // While job 1 is worked, the loop hands over three newer states and returns at once.
  const auto t0 = std::chrono::steady_clock::now();
  for (int v = 2; v <= 4; ++v) w.Post([v](Job& j) { j.version = v; });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  EXPECT_TRUE(w.Busy());
  release.set_value();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (w.Busy() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  w.Stop();
  EXPECT_EQ(worked, (std::vector<int>{1, 4}));
}

TEST(LatestWorker, PostAndWaitReturnsOnceItsJobIsWorked) {
  std::atomic<int> last{0};
  LatestWorker<Job> w([&](Job& j) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    last = j.version;
  });
  for (int v = 1; v <= 20; ++v) {
    w.PostAndWait([v](Job& j) { j.version = v; });
    EXPECT_EQ(last.load(), v);
  }
  EXPECT_FALSE(w.Busy());
}

TEST(LatestWorker, StopFinishesTheJobInHandAndLaterPostsAreIgnored) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> started;
  std::atomic<int> count{0};
  std::atomic<bool> finished{false};
  LatestWorker<Job> w([&](Job&) {
    if (count++ == 0) {
      started.set_value();
      released.wait();
      finished = true;
    }
  });
  w.Post([](Job& j) { j.version = 1; });
  started.get_future().wait();
  std::thread stopper([&] { w.Stop(); });
  release.set_value();
  stopper.join();
  EXPECT_TRUE(finished.load());  // the maps are never left half-written by a stop
  w.Post([](Job& j) { j.version = 3; });
  w.PostAndWait([](Job& j) { j.version = 4; });  // returns at once: nothing will work it
  EXPECT_EQ(count.load(), 1);
}

}  // namespace
}  // namespace ironlb
