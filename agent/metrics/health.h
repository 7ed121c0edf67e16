// Liveness and readiness of the agent as /healthz and /readyz report them: the event loop beats
// a heartbeat, and tells what still keeps it from serving; the metrics thread reads both.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "metrics/metrics_server.h"

namespace ironlb {

// The loop beats every second; a loop that has not beaten for this long is stuck (a blocking
// call, a livelock) and the process should be restarted. Kubelet's default probe timeout is 1 s
// and period 10 s, so a few missed beats are tolerated before a probe fails.
inline constexpr std::chrono::seconds kLoopStaleAfter{10};

class Health {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Health(std::chrono::milliseconds stale_after = kLoopStaleAfter)
      : stale_after_(stale_after) {}

  // From the event loop: it is alive, and what keeps the agent from being ready (empty: ready).
  void Beat(std::vector<std::string> not_ready, Clock::time_point now = Clock::now());

  // Thread-safe. Live: the loop beat within stale_after. Ready: live, and nothing keeps it from
  // serving; the detail names each missing condition.
  ProbeResult Live(Clock::time_point now = Clock::now()) const;
  ProbeResult Ready(Clock::time_point now = Clock::now()) const;

 private:
  const std::chrono::milliseconds stale_after_;
  mutable std::mutex mu_;
  bool beaten_ = false;
  Clock::time_point last_beat_{};
  std::vector<std::string> not_ready_;
};

}  // namespace ironlb
