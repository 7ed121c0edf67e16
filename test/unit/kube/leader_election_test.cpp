// Lease-based leader election: the pure acquire/renew/takeover decision, and two electors
// against the fake API server (one leader at a time, release on stop, takeover after expiry).
#include "kube/leader_election.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

namespace ironlb::kube {
namespace {

using namespace std::chrono_literals;

TEST(NextLease, CreatesRenewsAndTakesOverOnlyWhenExpired) {
  const auto first = NextLease(std::nullopt, 0s, "a", "T1", 15);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, (LeaseSpec{"a", 15, "T1", "T1", 0}));
  // Our own lease: renewed, acquireTime kept.
  EXPECT_EQ(*NextLease(first, 5s, "a", "T2", 15), (LeaseSpec{"a", 15, "T1", "T2", 0}));
  // Someone else's, still fresh by our clock: hands off.
  EXPECT_FALSE(NextLease(first, 14s, "b", "T2", 15));
  // Expired: taken over, one more transition.
  EXPECT_EQ(*NextLease(first, 15s, "b", "T3", 15), (LeaseSpec{"b", 15, "T3", "T3", 1}));
  // Released (no holder): taken at once.
  LeaseSpec released{"", 1, "T1", "T2", 0};
  EXPECT_EQ(*NextLease(released, 0s, "b", "T3", 15), (LeaseSpec{"b", 15, "T3", "T3", 1}));
}

TEST(MicroTime, HasSixFractionalDigits) {
  const std::string t = MicroTimeNow();
  ASSERT_EQ(t.size(), std::string("2026-11-22T00:38:34.390099Z").size()) << t;
  EXPECT_EQ(t[19], '.');
  EXPECT_EQ(t.back(), 'Z');
}

class FakeApi {
 public:
  FakeApi() {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      const std::string script = std::string(IRONLB_SOURCE_DIR) + "/test/e2e/lib/fake_apiserver.py";
      execl("/usr/bin/python3", "/usr/bin/python3", script.c_str(), nullptr);
      _exit(127);
    }
    close(out[1]);
    FILE* f = fdopen(out[0], "r");
    char line[256] = {};
    if (!fgets(line, sizeof line, f)) throw std::runtime_error("fake apiserver did not start");
    fclose(f);
    std::string url = line;
    url.pop_back();
    cfg.scheme = "http";
    cfg.host = "127.0.0.1";
    cfg.port = url.substr(url.rfind(':') + 1);
  }
  ~FakeApi() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  ClusterConfig cfg;

 private:
  pid_t pid_ = -1;
};

LeaderElectionOptions Fast(const std::string& id) {
  LeaderElectionOptions o;
  o.ns = "ironlb-system";
  o.identity = id;
  o.lease_duration = 2s;
  o.renew_deadline = 1s;
  o.retry_period = 100ms;
  return o;
}

TEST(LeaderElector, OneLeaderReleaseOnStopAndTakeoverAfterExpiry) {
  FakeApi api;
  boost::asio::io_context io;
  ApiClient ca(io, api.cfg, {0, 0}), cb(io, api.cfg, {0, 0}), cc(io, api.cfg, {0, 0});
  LeaderElector a(io, ca, Fast("node-a_1"), nullptr);
  LeaderElector b(io, cb, Fast("node-b_2"), nullptr);
  bool both = false;
  auto run_until = [&](auto pred, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      io.run_for(10ms);
      both |= a.leader() && b.leader();
    }
    return pred();
  };
  a.Start();
  ASSERT_TRUE(run_until([&] { return a.leader(); }, 5s));
  b.Start();
  run_until([] { return false; }, 1s);
  EXPECT_TRUE(a.leader());
  EXPECT_FALSE(b.leader());

  // A stops cleanly: it releases the Lease, B takes over well before the 2 s expiry.
  bool a_done = false;
  a.Stop([&] { a_done = true; });
  const auto stopped = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until([&] { return a_done && b.leader(); }, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, 1500ms);

  // B dies without releasing (its connections cut): it steps down after its renew deadline,
  // and C takes over only once the Lease has expired by C's own clock.
  LeaderElector c(io, cc, Fast("node-c_3"), nullptr);
  c.Start();
  run_until([] { return false; }, 500ms);
  EXPECT_FALSE(c.leader());
  cb.Abort();
  const auto died = std::chrono::steady_clock::now();
  bool c_and_b = false;
  ASSERT_TRUE(run_until(
      [&] {
        c_and_b |= c.leader() && b.leader();
        return c.leader();
      },
      10s));
  EXPECT_GE(std::chrono::steady_clock::now() - died, 1500ms);
  EXPECT_FALSE(b.leader());
  EXPECT_FALSE(c_and_b);
  EXPECT_FALSE(both);
  b.Stop();
  c.Stop();
  io.run_for(300ms);
}

}  // namespace
}  // namespace ironlb::kube
