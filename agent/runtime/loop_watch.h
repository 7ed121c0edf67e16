// Measures how long the agent's event loop was held by one piece of work: a timer due every
// 50 ms that fires late says so. BGP keepalives, BFD and the local API waited that long.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "runtime/log.h"

namespace ironlb {

// Lives on the loop it watches (single-threaded, like everything it touches): Start, Cancel and
// max_held on that loop's thread.
class LoopWatch {
 public:
  using Clock = std::chrono::steady_clock;
  // A tick this late is logged ("event loop held N ms"): the same bar as "reconcile took".
  static constexpr auto kReportOver = std::chrono::milliseconds(100);
  static constexpr auto kPeriod = std::chrono::milliseconds(50);

  // `what` names the loop in the log line, `waited` what waited on it.
  explicit LoopWatch(boost::asio::io_context& io, std::string what = "event loop",
                     std::string waited = "timers, BGP keepalives and the local API")
      : timer_(io), what_(std::move(what)), waited_(std::move(waited)) {}
  ~LoopWatch() { *alive_ = false; }
  LoopWatch(const LoopWatch&) = delete;
  LoopWatch& operator=(const LoopWatch&) = delete;

  void Start() { Arm(Clock::now() + kPeriod); }
  void Cancel() { timer_.cancel(); }
  // The longest hold seen since Start (a lower bound: a hold shorter than the period can hide
  // between two ticks).
  std::chrono::milliseconds max_held() const { return max_; }

 private:
  void Arm(Clock::time_point due) {
    timer_.expires_at(due);
    std::weak_ptr<bool> alive = alive_;
    timer_.async_wait([this, alive, due](const boost::system::error_code& ec) {
      if (ec || alive.expired()) return;
      const auto now = Clock::now();
      const auto late = std::chrono::duration_cast<std::chrono::milliseconds>(now - due);
      if (late > max_) max_ = late;
      if (late > kReportOver)
        log::Info("agent",
                  what_ + " held " + std::to_string(late.count()) + " ms (" + waited_ + " waited)");
      Arm(now + kPeriod);
    });
  }

  boost::asio::steady_timer timer_;
  std::string what_, waited_;
  std::chrono::milliseconds max_{0};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ironlb
