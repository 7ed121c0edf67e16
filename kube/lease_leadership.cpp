#include "kube/lease_leadership.h"

#include <random>

namespace ironlb::kube {

LeaseLeadership::LeaseLeadership(boost::asio::io_context& io, ApiClient& client,
                                 LeaderElectionOptions opts)
    : opts_(opts),
      elector_(io, client, std::move(opts),
               [this](bool leader) {
                 if (on_change_) on_change_(leader);
               }),
      deadline_(io) {}

void LeaseLeadership::Start(std::function<void(bool)> on_change) {
  on_change_ = std::move(on_change);
  started_ = true;
  elector_.Start();
}

void LeaseLeadership::Stop(std::function<void()> done) {
  if (done_) return;  // already stopping
  done_ = std::move(done);
  // Whichever comes first, the release or the deadline, finishes the stop; the other is ignored.
  auto finish = [this] {
    deadline_.cancel();
    if (!done_) return;
    auto d = std::move(done_);
    done_ = [] {};  // non-empty: a second Stop() stays a no-op
    d();
  };
  if (!started_) {
    finish();
    return;
  }
  on_change_ = nullptr;  // the agent is going away: no more role changes reach it
  deadline_.expires_after(release_timeout_);
  deadline_.async_wait([finish](const boost::system::error_code& ec) {
    if (!ec) finish();
  });
  elector_.Stop(finish);
}

std::string LeaseLeadership::description() const {
  return "Lease " + opts_.ns + "/" + opts_.name + " as " + opts_.identity;
}

std::string LeaseLeadership::MakeIdentity(const std::string& node) {
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::random_device rd;
  std::string suffix;
  for (int i = 0; i < 5; ++i) suffix += kAlphabet[rd() % (sizeof(kAlphabet) - 1)];
  return node + "_" + suffix;
}

}  // namespace ironlb::kube
