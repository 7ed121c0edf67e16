// A thread of its own for work too slow for the event loop (the data plane's map writes): the loop
// edits one pending job, the thread takes it whole, so a burst of changes is worked once, newest.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace ironlb {

// Ownership: `pending_` and the flags belong to `mu_`; everything `work` touches belongs to the
// worker thread alone (callers hand it data by value or as immutable shared pointers, and take
// results back by posting to their own loop from inside `work`).
template <typename Job>
class LatestWorker {
 public:
  static constexpr int kBackgroundNice = 10;

  // `work` runs on the worker thread, one job at a time, never concurrently with itself. The
  // thread runs at a lower CPU priority (nice +kBackgroundNice) than the event loop's: on a busy
  // node the loop's keepalives and timers come first, the background work takes what is left.
  explicit LatestWorker(std::function<void(Job&)> work)
      : work_(std::move(work)), thread_([this] {
          // Per thread on Linux; best effort (nothing to do if it is refused).
          (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kBackgroundNice);
          Run();
        }) {}
  ~LatestWorker() { Stop(); }
  LatestWorker(const LatestWorker&) = delete;
  LatestWorker& operator=(const LatestWorker&) = delete;

  // Folds a change into the pending job (e.g. "the newest desired state is this one"); the
  // worker takes it when it is done with the job in hand. Any thread; never waits for `work`.
  void Post(const std::function<void(Job&)>& edit) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopping_) return;
      edit(pending_);
      has_pending_ = true;
    }
    cv_.notify_all();
  }

  // Post, then wait until that job (and whatever was folded into it) has been worked.
  void PostAndWait(const std::function<void(Job&)>& edit) {
    std::unique_lock<std::mutex> l(mu_);
    if (stopping_) return;
    edit(pending_);
    has_pending_ = true;
    const unsigned long long mine = ++posted_;
    cv_.notify_all();
    cv_.wait(l, [&] { return done_ >= mine || stopping_; });
  }

  // True while a job is being worked or waits (for status and tests).
  bool Busy() const {
    std::lock_guard<std::mutex> l(mu_);
    return busy_ || has_pending_;
  }

  // Finishes the job in hand, drops the pending one, joins. Idempotent.
  void Stop() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      cv_.wait(l, [&] { return has_pending_ || stopping_; });
      if (stopping_) return;
      Job job = std::exchange(pending_, Job{});
      has_pending_ = false;
      busy_ = true;
      // Every PostAndWait folded in so far is answered by this job.
      const unsigned long long covers = posted_;
      l.unlock();
      work_(job);
      l.lock();
      busy_ = false;
      done_ = covers;
      cv_.notify_all();
    }
  }

  std::function<void(Job&)> work_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Job pending_{};
  bool has_pending_ = false;
  bool busy_ = false;
  bool stopping_ = false;
  unsigned long long posted_ = 0;  // PostAndWait calls so far
  unsigned long long done_ = 0;    // the last of them worked
  std::thread thread_;             // last: starts once everything above exists
};

}  // namespace ironlb
