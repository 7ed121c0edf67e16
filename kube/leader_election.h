// Leader election for the controller role with a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection does it: acquire when free or expired, renew every retry period, give up when
// renewal fails for the renew deadline, and release on shutdown so a standby takes over at once.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "kube/api_client.h"
#include "kube/asio_coroutine.h"

namespace ironlb::kube {

struct LeaseSpec {
  std::string holder;
  int duration_s = 15;
  std::string acquire_time;  // MicroTime, RFC 3339 with microseconds
  std::string renew_time;
  int transitions = 0;
  bool operator==(const LeaseSpec&) const = default;
};

// Pure decision of one try: the Lease to write given the one observed (nullopt: none exists),
// or nullopt when another holder's lease is still valid. `observed_for` is how long the
// observed record has been unchanged by our own clock (never the other node's clock).
std::optional<LeaseSpec> NextLease(const std::optional<LeaseSpec>& observed,
                                   std::chrono::steady_clock::duration observed_for,
                                   const std::string& identity, const std::string& now_micro,
                                   int duration_s);

// "2026-11-22T00:38:34.390099Z" for the system clock's now.
std::string MicroTimeNow();

struct LeaderElectionOptions {
  std::string ns;
  std::string name = "ironlb-controller";
  std::string identity;  // unique per process: node name + random suffix
  std::chrono::seconds lease_duration{15};
  std::chrono::seconds renew_deadline{10};
  std::chrono::milliseconds retry_period{2000};
};

class LeaderElector {
 public:
  // `on_change(true)` when this process becomes leader, `on_change(false)` when it stops.
  LeaderElector(boost::asio::io_context& io, ApiClient& client, LeaderElectionOptions opts,
                std::function<void(bool)> on_change);
  void Start();
  // Releases the Lease if held (a standby takes over without waiting for expiry), then stops;
  // `done` runs afterwards. Safe to call more than once.
  void Stop(std::function<void()> done = nullptr);
  bool leader() const { return leader_; }
  const LeaderElectionOptions& options() const { return opts_; }

 private:
  boost::asio::awaitable<void> Run();
  // One GET + create/update. Returns true when we hold the Lease afterwards.
  boost::asio::awaitable<bool> TryAcquireOrRenew();
  boost::asio::awaitable<void> Release();
  void SetLeader(bool l);

  boost::asio::io_context& io_;
  ApiClient& client_;
  LeaderElectionOptions opts_;
  std::function<void(bool)> on_change_;
  boost::asio::steady_timer timer_;
  std::optional<LeaseSpec> observed_;
  std::chrono::steady_clock::time_point observed_at_{};
  std::chrono::steady_clock::time_point last_renew_{};
  std::string version_;  // resourceVersion of the Lease we last saw
  bool leader_ = false;
  bool stopping_ = false;
  std::function<void()> done_;
};

}  // namespace ironlb::kube
