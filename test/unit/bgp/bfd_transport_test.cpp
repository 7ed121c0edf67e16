// BFD over real UDP sockets on loopback: demultiplexing and TTL checks with crafted datagrams,
// then two transports (on ports of their own) reaching Up and detecting each other's loss.
#include "bgp/bfd_transport.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace ironlb::bgp::bfd {
namespace {

using std::chrono::milliseconds;

// Unprivileged ports per test process, so parallel test runs do not collide.
uint16_t TestPort(int n) {
  return static_cast<uint16_t>(20000 + (getpid() % 2000) * 4 + n);
}

LinkConfig Loopback(int ms, uint8_t mult) {
  LinkConfig c;
  c.peer = *IPAddr::Parse("127.0.0.1");
  c.params.desired_min_tx = milliseconds(ms);
  c.params.required_min_rx = milliseconds(ms);
  c.params.detect_mult = mult;
  return c;
}

ControlPacket DownFrom(uint32_t discr) {
  ControlPacket p;
  p.state = SessionState::kDown;
  p.detect_mult = 3;
  p.my_discriminator = discr;
  p.desired_min_tx = std::chrono::seconds(1);
  p.required_min_rx = milliseconds(100);
  return p;
}

TEST(BfdTransport, DemultiplexesAndChecksTtl) {
  boost::asio::io_context io;
  Transport t(io, {TestPort(0), TestPort(1)});
  LinkConfig c = Loopback(100, 3);
  c.peer = *IPAddr::Parse("192.0.2.1");
  Link* link = t.Add(c, nullptr);
  ASSERT_TRUE(link);
  const IPAddr peer = c.peer, stranger = *IPAddr::Parse("192.0.2.9");
  const auto down = Encode(DownFrom(77));

  EXPECT_EQ(t.Dispatch(down, stranger, 255), DropReason::kUnknownPeer);
  EXPECT_EQ(t.Dispatch(down, peer, 253), DropReason::kLowTtl);
  // Single hop: one router away is already too far (RFC 5881 section 5).
  EXPECT_EQ(t.Dispatch(down, peer, 254), DropReason::kLowTtl);
  EXPECT_EQ(t.Dispatch(down, peer, -1), DropReason::kLowTtl);  // no TTL reported: not trusted
  ControlPacket wrong = DownFrom(77);
  wrong.your_discriminator = link->session().local_discriminator() + 1;
  EXPECT_EQ(t.Dispatch(Encode(wrong), peer, 255), DropReason::kUnknownDiscriminator);
  auto bad = down;
  bad[2] = 0;  // Detect Mult 0
  EXPECT_EQ(t.Dispatch(bad, peer, 255), DropReason::kZeroDetectMult);
  EXPECT_EQ(link->session().state(), SessionState::kDown);

  EXPECT_EQ(t.Dispatch(down, peer, 255), DropReason::kNone);  // by address: your discr is 0
  EXPECT_EQ(link->session().state(), SessionState::kInit);
  ControlPacket up = DownFrom(77);
  up.state = SessionState::kUp;
  up.your_discriminator = link->session().local_discriminator();
  EXPECT_EQ(t.Dispatch(Encode(up), stranger, 255), DropReason::kUnknownPeer);  // spoofed
  EXPECT_EQ(t.Dispatch(Encode(up), peer, 255), DropReason::kNone);
  EXPECT_EQ(link->session().state(), SessionState::kUp);

  EXPECT_EQ(t.drops(DropReason::kUnknownPeer), 2u);
  EXPECT_EQ(t.drops(DropReason::kLowTtl), 3u);
  auto st = t.Status();
  EXPECT_EQ(st["drops"]["ttl not 255"], 3);
  auto ls = link->Status();
  EXPECT_EQ(ls["state"], "Up");
  EXPECT_EQ(ls["remote_discriminator"], 77);
  EXPECT_GE(ls["source_port"].get<int>(), kSourcePortMin);
}

// Runs `io` until `pred` holds or `limit` passes (a bound far above the expected time).
template <typename Pred>
bool RunUntil(boost::asio::io_context& io, Pred pred, milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred() && std::chrono::steady_clock::now() < end) io.run_for(milliseconds(5));
  return pred();
}

TEST(BfdTransport, TwoEndsOnLoopbackComeUpAndDetectLoss) {
  boost::asio::io_context io;
  auto a = std::make_unique<Transport>(io, Transport::Ports{TestPort(2), TestPort(3)});
  auto b = std::make_unique<Transport>(io, Transport::Ports{TestPort(3), TestPort(2)});
  std::vector<StateChange> a_changes;
  Link* la = a->Add(Loopback(20, 3), [&](const StateChange& c) { a_changes.push_back(c); });
  Link* lb = b->Add(Loopback(20, 3), nullptr);
  ASSERT_FALSE(a->Status().contains("listen_error")) << a->Status().dump();
  ASSERT_TRUE(RunUntil(
      io,
      [&] {
        return la->session().state() == SessionState::kUp &&
               lb->session().state() == SessionState::kUp && !la->session().poll_active() &&
               !lb->session().poll_active();
      },
      milliseconds(5000)))
      << la->Status().dump() << lb->Status().dump();
  EXPECT_EQ(la->session().remote_discriminator(), lb->session().local_discriminator());
  EXPECT_EQ(la->session().transmit_interval(), milliseconds(20));
  // The peer vanishes without a word: a's detection timer takes it down.
  b.reset();
  ASSERT_TRUE(RunUntil(
      io, [&] { return la->session().state() == SessionState::kDown; }, milliseconds(5000)));
  EXPECT_EQ(la->session().diag(), Diag::kControlDetectionTimeExpired);
  ASSERT_FALSE(a_changes.empty());
  EXPECT_EQ(a_changes.back().from, SessionState::kUp);
  EXPECT_FALSE(a_changes.back().remote_admin_down);
}

TEST(BfdTransport, RemoveSendsAdminDown) {
  boost::asio::io_context io;
  Transport a(io, {TestPort(0), TestPort(1)});
  Transport b(io, {TestPort(1), TestPort(0)});
  std::vector<StateChange> a_changes;
  Link* la = a.Add(Loopback(20, 3), [&](const StateChange& c) { a_changes.push_back(c); });
  Link* lb = b.Add(Loopback(20, 3), nullptr);
  ASSERT_TRUE(RunUntil(
      io, [&] { return lb->session().state() == SessionState::kUp; }, milliseconds(5000)));
  b.Remove(lb);
  ASSERT_TRUE(RunUntil(
      io, [&] { return la->session().state() == SessionState::kDown; }, milliseconds(5000)));
  EXPECT_TRUE(a_changes.back().remote_admin_down);
  EXPECT_EQ(la->session().diag(), Diag::kNeighborSignaledSessionDown);
  // More AdminDown packets follow for one detection time (so one lost packet is no failure),
  // then silence.
  const uint64_t received = la->session().packets_received();
  RunUntil(
      io, [] { return false; }, milliseconds(500));
  EXPECT_GT(la->session().packets_received(), received);
  EXPECT_EQ(la->session().state(), SessionState::kDown);
  EXPECT_EQ(la->session().diag(), Diag::kNeighborSignaledSessionDown);
  const uint64_t settled = la->session().packets_received();
  RunUntil(
      io, [] { return false; }, milliseconds(300));
  EXPECT_EQ(la->session().packets_received(), settled);
}

TEST(BfdTransport, Ipv6Loopback) {
  boost::asio::io_context io;
  Transport a(io, {TestPort(2), TestPort(3)});
  Transport b(io, {TestPort(3), TestPort(2)});
  LinkConfig c = Loopback(20, 3);
  c.peer = *IPAddr::Parse("::1");
  Link* la = a.Add(c, nullptr);
  Link* lb = b.Add(c, nullptr);
  if (a.Status().contains("listen_error")) GTEST_SKIP() << a.Status().dump();
  ASSERT_TRUE(RunUntil(
      io,
      [&] {
        return la->session().state() == SessionState::kUp &&
               lb->session().state() == SessionState::kUp;
      },
      milliseconds(5000)))
      << la->Status().dump();
}

}  // namespace
}  // namespace ironlb::bgp::bfd
