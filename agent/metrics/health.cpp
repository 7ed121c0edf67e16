#include "metrics/health.h"

namespace ironlb {

void Health::Beat(std::vector<std::string> not_ready, Clock::time_point now) {
  std::lock_guard lock(mu_);
  beaten_ = true;
  last_beat_ = now;
  not_ready_ = std::move(not_ready);
}

ProbeResult Health::Live(Clock::time_point now) const {
  std::lock_guard lock(mu_);
  if (!beaten_) return {false, "event loop has not started"};
  const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_beat_);
  if (age > stale_after_)
    return {false, "event loop stuck: last heartbeat " + std::to_string(age.count()) + " ms ago"};
  return {true, "ok"};
}

ProbeResult Health::Ready(Clock::time_point now) const {
  ProbeResult live = Live(now);
  if (!live.ok) return live;
  std::lock_guard lock(mu_);
  if (not_ready_.empty()) return {true, "ok"};
  std::string detail = "not ready:";
  for (const auto& r : not_ready_) detail += "\n- " + r;
  return {false, detail};
}

}  // namespace ironlb
