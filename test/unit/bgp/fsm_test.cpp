// Steps the BGP state machine through a fake FsmIo: no sockets, no sleeps.
#include "bgp/fsm.h"

#include <gtest/gtest.h>

#include <map>

namespace ironlb::bgp {
namespace {

struct FakeIo : FsmIo {
  int connects = 0, closes = 0, adopted = 0, rejected = 0, established = 0, downs = 0;
  std::vector<Bytes> sent;
  std::map<Timer, Millis> armed;
  std::chrono::steady_clock::time_point now{};
  double jitter = 1.0;
  void Connect() override { ++connects; }
  void CloseConnection() override { ++closes; }
  void AdoptIncoming() override { ++adopted; }
  void RejectIncoming() override { ++rejected; }
  void Send(Bytes m) override { sent.push_back(std::move(m)); }
  void ArmTimer(Timer t, Millis after) override { armed[t] = after; }
  void CancelTimer(Timer t) override { armed.erase(t); }
  std::chrono::steady_clock::time_point Now() override { return now; }
  double Jitter() override { return jitter; }
  void OnEstablished(const Negotiated&) override { ++established; }
  void OnDown(const std::string&) override { ++downs; }
  void OnRouteRefresh(const RouteRefresh&) override {}

  MessageType LastType() const { return DecodeHeader(sent.back())->type; }
  Notification LastNotification() const {
    return *DecodeNotification(ByteSpan(sent.back()).subspan(kHeaderLength));
  }
};

FsmConfig Config() {
  FsmConfig c;
  c.local_asn = 64512;
  c.peer_asn = 64513;
  c.router_id = 0x0a000001;
  c.hold_time_s = 9;
  c.connect_retry = std::chrono::seconds(2);
  c.connect_retry_max = std::chrono::seconds(16);
  return c;
}

Bytes PeerOpen(uint32_t asn = 64513, uint16_t hold = 30, uint32_t id = 0x0a000002) {
  Capabilities c;
  c.multiprotocol = {{kAfiIpv4, kSafiUnicast}};
  return EncodeOpen(MakeOpen(asn, hold, id, c));
}

class FsmTest : public ::testing::Test {
 protected:
  FakeIo io;
  Fsm fsm{Config(), io};

  void Establish() {
    fsm.Handle(Event::kStart);
    fsm.Handle(Event::kTcpCrAcked);
    fsm.Receive(PeerOpen());
    fsm.Receive(EncodeKeepalive());
    ASSERT_EQ(fsm.state(), State::kEstablished);
  }
};

TEST_F(FsmTest, ActiveOpenToEstablished) {
  fsm.Handle(Event::kStart);
  EXPECT_EQ(fsm.state(), State::kConnect);
  EXPECT_EQ(io.connects, 1);
  EXPECT_EQ(io.armed.at(Timer::kConnectRetry), std::chrono::seconds(2));
  fsm.Handle(Event::kTcpCrAcked);
  EXPECT_EQ(fsm.state(), State::kOpenSent);
  EXPECT_EQ(io.LastType(), MessageType::kOpen);
  EXPECT_EQ(io.armed.at(Timer::kHold), std::chrono::minutes(4));
  EXPECT_FALSE(io.armed.count(Timer::kConnectRetry));
  fsm.Receive(PeerOpen());
  EXPECT_EQ(fsm.state(), State::kOpenConfirm);
  EXPECT_EQ(io.LastType(), MessageType::kKeepalive);
  // Negotiated hold = min(9, 30); keepalive = hold / 3.
  EXPECT_EQ(io.armed.at(Timer::kHold), std::chrono::seconds(9));
  EXPECT_EQ(io.armed.at(Timer::kKeepalive), std::chrono::seconds(3));
  fsm.Receive(EncodeKeepalive());
  EXPECT_EQ(fsm.state(), State::kEstablished);
  EXPECT_EQ(io.established, 1);
  EXPECT_EQ(fsm.negotiated().peer_asn, 64513u);
}

TEST_F(FsmTest, PassiveWaitsForIncoming) {
  auto c = Config();
  c.passive = true;
  Fsm p(c, io);
  p.Handle(Event::kStart);
  EXPECT_EQ(p.state(), State::kActive);
  EXPECT_EQ(io.connects, 0);
  p.Handle(Event::kConnectRetryTimerExpires);
  EXPECT_EQ(io.connects, 0);
  p.Handle(Event::kTcpConnectionConfirmed);
  EXPECT_EQ(io.adopted, 1);
  EXPECT_EQ(p.state(), State::kOpenSent);
}

TEST_F(FsmTest, HoldTimerIsEnforcedOnReceive) {
  Establish();
  fsm.Handle(Event::kKeepaliveTimerExpires);  // our own keepalives do not feed the hold timer
  EXPECT_EQ(io.LastType(), MessageType::kKeepalive);
  fsm.Handle(Event::kHoldTimerExpires);
  EXPECT_EQ(fsm.state(), State::kIdle);
  EXPECT_EQ(io.LastNotification().code, error_code::kHoldTimerExpired);
  EXPECT_EQ(io.downs, 1);
  // Automatic restart after the (jittered) backoff.
  EXPECT_TRUE(io.armed.count(Timer::kConnectRetry));
  fsm.Handle(Event::kConnectRetryTimerExpires);
  EXPECT_EQ(fsm.state(), State::kConnect);
}

TEST_F(FsmTest, UpdateAndKeepaliveRestartHold) {
  Establish();
  io.armed.erase(Timer::kHold);
  fsm.Receive(EncodeEndOfRib({kAfiIpv4, kSafiUnicast}, {}));
  EXPECT_TRUE(io.armed.count(Timer::kHold));
  io.armed.erase(Timer::kHold);
  fsm.Receive(EncodeKeepalive());
  EXPECT_TRUE(io.armed.count(Timer::kHold));
  EXPECT_EQ(fsm.state(), State::kEstablished);
}

TEST_F(FsmTest, ZeroHoldTimeMeansNoTimers) {
  fsm.Handle(Event::kStart);
  fsm.Handle(Event::kTcpCrAcked);
  fsm.Receive(PeerOpen(64513, 0));
  EXPECT_FALSE(io.armed.count(Timer::kHold));
  EXPECT_FALSE(io.armed.count(Timer::kKeepalive));
}

TEST_F(FsmTest, WrongPeerAsIsBadPeerAs) {
  fsm.Handle(Event::kStart);
  fsm.Handle(Event::kTcpCrAcked);
  fsm.Receive(PeerOpen(65000));
  EXPECT_EQ(fsm.state(), State::kIdle);
  EXPECT_EQ(io.LastNotification().subcode, open_subcode::kBadPeerAs);
}

TEST_F(FsmTest, DynamicAsn) {
  auto c = Config();
  c.peer_asn = 0;
  c.dynamic_asn = "external";
  Fsm f(c, io);
  f.Handle(Event::kStart);
  f.Handle(Event::kTcpCrAcked);
  f.Receive(PeerOpen(4200000000u));
  EXPECT_EQ(f.state(), State::kOpenConfirm);
  Fsm g(c, io);
  g.Handle(Event::kStart);
  g.Handle(Event::kTcpCrAcked);
  g.Receive(PeerOpen(64512));  // internal, but external was required
  EXPECT_EQ(g.state(), State::kIdle);
}

TEST_F(FsmTest, BadOpenSendsItsNotification) {
  fsm.Handle(Event::kStart);
  fsm.Handle(Event::kTcpCrAcked);
  Bytes open = PeerOpen();
  open[kHeaderLength] = 3;  // version 3
  fsm.Receive(open);
  EXPECT_EQ(fsm.state(), State::kIdle);
  EXPECT_EQ(io.LastNotification().code, error_code::kOpenMessageError);
  EXPECT_EQ(io.LastNotification().subcode, open_subcode::kUnsupportedVersionNumber);
}

TEST_F(FsmTest, UnexpectedMessageIsFsmError) {
  fsm.Handle(Event::kStart);
  fsm.Handle(Event::kTcpCrAcked);
  fsm.Receive(EncodeKeepalive());
  EXPECT_EQ(fsm.state(), State::kIdle);
  EXPECT_EQ(io.LastNotification().code, error_code::kFiniteStateMachineError);
  EXPECT_EQ(io.LastNotification().subcode, fsm_subcode::kUnexpectedMessageInOpenSent);
}

TEST_F(FsmTest, MalformedUpdateResetsSession) {
  Establish();
  fsm.Receive(EncodeMessage(MessageType::kUpdate, Bytes{0, 9, 0, 0}));
  EXPECT_EQ(fsm.state(), State::kIdle);
  EXPECT_EQ(io.LastNotification().code, error_code::kUpdateMessageError);
}

TEST_F(FsmTest, PeerNotificationDropsSession) {
  Establish();
  fsm.Receive(EncodeNotification(AdministrativeShutdown("")));
  EXPECT_EQ(fsm.state(), State::kIdle);
  EXPECT_EQ(io.downs, 1);
  EXPECT_NE(fsm.last_error().find("Administrative Shutdown"), std::string::npos);
}

Bytes PeerOpenWithGracefulRestart() {
  Capabilities c;
  c.multiprotocol = {{kAfiIpv4, kSafiUnicast}};
  c.graceful_restart = GracefulRestart{false, 120, {{{kAfiIpv4, kSafiUnicast}, false}}};
  return EncodeOpen(MakeOpen(64513, 30, 0x0a000002, c));
}

TEST_F(FsmTest, StopForRestartKeepsRoutesOnlyWhenBothSidesNegotiatedGracefulRestart) {
  auto c = Config();
  c.graceful_restart = GracefulRestart{false, 120, {{{kAfiIpv4, kSafiUnicast}, true}}};
  auto establish = [&](Fsm& f, Bytes peer_open) {
    f.Handle(Event::kStart);
    f.Handle(Event::kTcpCrAcked);
    f.Receive(peer_open);
    f.Receive(EncodeKeepalive());
    ASSERT_EQ(f.state(), State::kEstablished);
  };
  {
    FakeIo gio;
    Fsm f(c, gio);
    establish(f, PeerOpenWithGracefulRestart());
    const size_t before = gio.sent.size();
    EventData d;
    d.for_restart = true;
    f.Handle(Event::kStop, d);
    EXPECT_EQ(f.state(), State::kIdle);
    EXPECT_EQ(gio.sent.size(), before) << "no NOTIFICATION: the peer keeps our routes as stale";
    EXPECT_GE(gio.closes, 1);
    EXPECT_NE(f.last_error().find("graceful restart"), std::string::npos);
  }
  {
    FakeIo nio;  // the peer did not advertise graceful restart: a Cease, routes withdrawn
    Fsm f(c, nio);
    establish(f, PeerOpen());
    EventData d;
    d.for_restart = true;
    f.Handle(Event::kStop, d);
    EXPECT_EQ(nio.LastType(), MessageType::kNotification);
    EXPECT_EQ(nio.LastNotification().code, error_code::kCease);
  }
  {
    FakeIo sio;  // both sides capable, but a plain stop (node leaving): still a Cease
    Fsm f(c, sio);
    establish(f, PeerOpenWithGracefulRestart());
    f.Handle(Event::kStop);
    EXPECT_EQ(sio.LastType(), MessageType::kNotification);
  }
}

TEST_F(FsmTest, StopSendsCeaseAdministrativeShutdownAndStaysDown) {
  Establish();
  fsm.Handle(Event::kStop);
  EXPECT_EQ(fsm.state(), State::kIdle);
  EXPECT_EQ(io.LastNotification().code, error_code::kCease);
  EXPECT_EQ(io.LastNotification().subcode, cease_subcode::kAdministrativeShutdown);
  EXPECT_FALSE(io.armed.count(Timer::kConnectRetry));
}

TEST_F(FsmTest, BfdDownTearsDown) {
  Establish();
  fsm.Handle(Event::kBfdDown);
  EXPECT_EQ(fsm.state(), State::kIdle);
  EXPECT_EQ(io.downs, 1);
  EXPECT_EQ(io.LastNotification().code, error_code::kCease);
  EXPECT_EQ(io.LastNotification().subcode, cease_subcode::kBfdDown);
}

TEST_F(FsmTest, ConnectRetryBacksOffWithJitter) {
  io.jitter = 0.75;
  fsm.Handle(Event::kStart);
  EXPECT_EQ(io.armed.at(Timer::kConnectRetry), Millis(1500));
  std::vector<Millis> delays;
  for (int i = 0; i < 6; ++i) {
    fsm.Handle(Event::kTcpConnectionFails);
    EXPECT_EQ(fsm.state(), State::kActive);
    delays.push_back(io.armed.at(Timer::kConnectRetry));
    fsm.Handle(Event::kConnectRetryTimerExpires);
    EXPECT_EQ(fsm.state(), State::kConnect);
  }
  // 2s doubling to the 16s cap, each times 0.75.
  EXPECT_EQ(delays, (std::vector<Millis>{Millis(1500), Millis(3000), Millis(6000), Millis(12000),
                                         Millis(12000), Millis(12000)}));
}

TEST_F(FsmTest, IncomingWhileConnectingIsAdopted) {
  fsm.Handle(Event::kStart);
  fsm.Handle(Event::kTcpConnectionConfirmed);
  EXPECT_EQ(io.adopted, 1);
  EXPECT_EQ(fsm.state(), State::kOpenSent);
  fsm.Handle(Event::kTcpConnectionConfirmed);  // a second one while OpenSent
  EXPECT_EQ(io.rejected, 1);
}

TEST_F(FsmTest, CollisionInOpenConfirmHigherIdentifierWins) {
  fsm.Handle(Event::kStart);
  fsm.Handle(Event::kTcpCrAcked);
  fsm.Receive(PeerOpen(64513, 30, 0x0b000000));  // peer's id is higher than ours
  ASSERT_EQ(fsm.state(), State::kOpenConfirm);
  fsm.Handle(Event::kTcpConnectionConfirmed);
  EXPECT_EQ(io.adopted, 1);
  EXPECT_EQ(fsm.state(), State::kOpenSent);

  FakeIo io2;
  Fsm f(Config(), io2);
  f.Handle(Event::kStart);
  f.Handle(Event::kTcpCrAcked);
  f.Receive(PeerOpen(64513, 30, 0x01000000));  // ours is higher: keep our connection
  f.Handle(Event::kTcpConnectionConfirmed);
  EXPECT_EQ(io2.rejected, 1);
  EXPECT_EQ(f.state(), State::kOpenConfirm);
}

TEST_F(FsmTest, ConnectionLossWhenEstablished) {
  Establish();
  EventData d;
  d.reason = "reset by peer";
  fsm.Handle(Event::kTcpConnectionFails, d);
  EXPECT_EQ(fsm.state(), State::kIdle);
  EXPECT_EQ(fsm.last_error(), "reset by peer");
}

}  // namespace
}  // namespace ironlb::bgp
