// Runs a callback now and then every `period` on the agent's io_context, until Cancel() or
// destruction; used by components that refresh their metrics from state they poll.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>

namespace ironlb {

class Periodic {
 public:
  Periodic(boost::asio::io_context& io, std::chrono::milliseconds period)
      : timer_(io), period_(period) {}
  ~Periodic() { *alive_ = false; }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

  void Start(std::function<void()> fn) {
    fn_ = std::move(fn);
    Tick();
  }
  void Cancel() { timer_.cancel(); }

 private:
  void Tick() {
    fn_();
    timer_.expires_after(period_);
    std::weak_ptr<bool> alive = alive_;
    timer_.async_wait([this, alive](const boost::system::error_code& ec) {
      if (ec || alive.expired()) return;
      Tick();
    });
  }

  boost::asio::steady_timer timer_;
  std::chrono::milliseconds period_;
  std::function<void()> fn_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ironlb
