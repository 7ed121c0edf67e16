// The agent's Leadership on Kubernetes: a coordination.k8s.io Lease through LeaderElector, so
// that of several controller replicas exactly one allocates while the others stand by.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "kube/api_client.h"
#include "kube/leader_election.h"
#include "runtime/leadership.h"

namespace ironlb::kube {

class LeaseLeadership : public Leadership {
 public:
  // `client` must outlive this object (KubeStore's client, so one connection pool and limiter).
  LeaseLeadership(boost::asio::io_context& io, ApiClient& client, LeaderElectionOptions opts);
  void Start(std::function<void(bool)> on_change) override;
  // Releases the Lease, waiting at most `release_timeout` for the API server before `done`.
  void Stop(std::function<void()> done) override;
  bool leader() const override { return elector_.leader(); }
  std::string description() const override;

  // Unique per process: the node name plus a random suffix, as client-go does with the hostname.
  static std::string MakeIdentity(const std::string& node);

 private:
  LeaderElectionOptions opts_;
  LeaderElector elector_;
  std::function<void(bool)> on_change_;
  boost::asio::steady_timer deadline_;
  std::function<void()> done_;
  bool started_ = false;
  std::chrono::milliseconds release_timeout_{2000};
};

}  // namespace ironlb::kube
