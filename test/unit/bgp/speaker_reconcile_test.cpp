// The speaker's reconcile with sessions made by a recording factory: which sessions start, stop
// or only get new routes for each plan, with no socket, timer or peer involved.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bgp/speaker.h"

namespace ironlb::bgp {
namespace {

// Every call a session receives, in order, as "peer:call".
using Log = std::vector<std::string>;

class RecordingSession : public PeerSession {
 public:
  RecordingSession(SessionConfig c, Log* log) : cfg_(std::move(c)), log_(log) { Note("made"); }
  void Start() override { Note("start"); }
  void Stop(bool for_restart) override { Note(for_restart ? "stop-for-restart" : "stop"); }
  void Offer(boost::asio::ip::tcp::socket) override { Note("offer"); }
  void SetRoutes(const PeerRoutes& routes) override {
    std::string s = "routes";
    for (const auto& [prefix, attrs] : routes) s += " " + prefix.str();
    Note(s);
  }
  void SetBfdDown(const std::string&) override { Note("bfd-down"); }
  const SessionConfig& config() const override { return cfg_; }
  bool Flushed() const override { return flushed; }
  nlohmann::json Status() const override { return {{"name", cfg_.name}}; }
  bool flushed = true;

 private:
  void Note(const std::string& what) { log_->push_back(cfg_.name + ":" + what); }
  SessionConfig cfg_;
  Log* log_;
};

struct Fixture {
  boost::asio::io_context io;
  Log log;
  std::vector<RecordingSession*> made;
  Speaker speaker{io, "node-a",
                  SpeakerOptions{[this](const SessionConfig& c) {
                                   auto s = std::make_unique<RecordingSession>(c, &log);
                                   made.push_back(s.get());
                                   return s;
                                 },
                                 /*listen=*/false}};

  Log Take() { return std::exchange(log, {}); }
};

SessionConfig Peer(const std::string& name, const char* addr, uint16_t hold = 90) {
  SessionConfig c;
  c.name = name;
  c.peer_address = *IPAddr::Parse(addr);
  c.fsm.local_asn = 64512;
  c.fsm.peer_asn = 64513;
  c.fsm.hold_time_s = hold;
  return c;
}

// A plan announcing `prefixes` to each of `peers`.
SpeakerPlan PlanOf(const std::vector<SessionConfig>& peers,
                   const std::vector<const char*>& prefixes) {
  SpeakerPlan plan;
  auto ann = std::make_shared<Announcements>();
  for (const SessionConfig& c : peers) {
    PeerRoutes& routes = ann->by_peer[c.name];
    for (const char* p : prefixes) routes[*IPPrefix::Parse(p)] = RouteAttrs{};
    plan.sessions.emplace(c.name, c);
    plan.bfd[c.name] = std::nullopt;
  }
  plan.announcements = std::move(ann);
  return plan;
}

TEST(SpeakerReconcile, NewPeerGetsASessionWithItsRoutesBeforeItStarts) {
  Fixture f;
  f.speaker.Apply(PlanOf({Peer("tor-a", "10.0.0.1")}, {"192.0.2.10/32"}));
  EXPECT_EQ(f.Take(), (Log{"tor-a:made", "tor-a:routes 192.0.2.10/32", "tor-a:start"}));
  EXPECT_EQ(f.speaker.announcements().by_peer.at("tor-a").size(), 1u);
}

TEST(SpeakerReconcile, RouteChangesNeverRestartTheSession) {
  Fixture f;
  const SessionConfig tor = Peer("tor-a", "10.0.0.1");
  f.speaker.Apply(PlanOf({tor}, {"192.0.2.10/32"}));
  f.Take();
  f.speaker.Apply(PlanOf({tor}, {"192.0.2.10/32", "192.0.2.11/32"}));
  f.speaker.Apply(PlanOf({tor}, {}));
  EXPECT_EQ(f.Take(), (Log{"tor-a:routes 192.0.2.10/32 192.0.2.11/32", "tor-a:routes"}));
  EXPECT_EQ(f.made.size(), 1u);
}

TEST(SpeakerReconcile, AConnectionEditReplacesTheSessionAndKeepsTheRoutes) {
  Fixture f;
  f.speaker.Apply(PlanOf({Peer("tor-a", "10.0.0.1")}, {"192.0.2.10/32"}));
  f.Take();
  f.speaker.Apply(PlanOf({Peer("tor-a", "10.0.0.1", /*hold=*/9)}, {"192.0.2.10/32"}));
  EXPECT_EQ(f.Take(),
            (Log{"tor-a:stop", "tor-a:made", "tor-a:routes 192.0.2.10/32", "tor-a:start"}));
  ASSERT_EQ(f.made.size(), 2u);
  EXPECT_EQ(f.made.back()->config().fsm.hold_time_s, 9);
}

TEST(SpeakerReconcile, EveryBGPPeerFieldEditReachesTheRunningSession) {
  // Through Plan(): the BGPPeer as configured, to the session the factory is asked for.
  Config cfg;
  IPAddressPool pool;
  pool.meta.name = "public";
  pool.ranges = {IPRange{*IPAddr::Parse("192.0.2.0"), *IPAddr::Parse("192.0.2.255")}};
  cfg.pools["public"] = pool;
  BGPAdvertisement adv;
  adv.meta.name = "all";
  cfg.bgp_advertisements["all"] = adv;
  BGPPeer base;
  base.meta.name = "tor";
  base.my_asn = 64512;
  base.peer_asn = 64513;
  base.peer_address = "10.0.0.1";
  base.address = IPAddr::Parse("10.0.0.1");
  Snapshot snap;
  Node n;
  n.meta.name = "node-a";
  n.addresses = {{"InternalIP", "10.0.0.2"}};
  snap.nodes = {n};
  Service svc;
  svc.meta.ns = "default";
  svc.meta.name = "web";
  svc.type = "LoadBalancer";
  svc.ingress = {{IPAddr::Parse("192.0.2.10"), "", ""}};
  snap.services = {svc};
  auto plan_for = [&](const BGPPeer& p) {
    Config c = cfg;
    c.peers["tor"] = p;
    return Speaker::Plan(Model(c, snap), "node-a");
  };

  const std::vector<std::pair<const char*, std::function<void(BGPPeer&)>>> edits = {
      {"holdTime", [](BGPPeer& p) { p.hold_time = std::chrono::seconds(30); }},
      {"connectTime", [](BGPPeer& p) { p.connect_time = std::chrono::seconds(2); }},
      {"enableGracefulRestart", [](BGPPeer& p) { p.enable_graceful_restart = true; }},
      {"password", [](BGPPeer& p) { p.password = "s3cret"; }},
      {"peerPort", [](BGPPeer& p) { p.peer_port = 1179; }},
  };
  for (const auto& [field, edit] : edits) {
    Fixture f;
    f.speaker.Apply(plan_for(base));
    ASSERT_EQ(f.made.size(), 1u) << field;
    BGPPeer edited = base;
    edit(edited);
    f.speaker.Apply(plan_for(edited));
    ASSERT_EQ(f.made.size(), 2u) << "editing " << field << " did not replace the session";
    EXPECT_TRUE(f.made.back()->config() ==
                *Speaker::SessionConfigFor(edited, Model(cfg, snap), "node-a"))
        << field;
    f.speaker.Apply(plan_for(edited));
    EXPECT_EQ(f.made.size(), 2u) << "an unchanged " << field << " restarted the session";
  }
}

TEST(SpeakerReconcile, APeerLeftOutOfThePlanIsStoppedAndForgotten) {
  Fixture f;
  const SessionConfig a = Peer("tor-a", "10.0.0.1"), b = Peer("tor-b", "10.0.0.2");
  f.speaker.Apply(PlanOf({a, b}, {"192.0.2.10/32"}));
  f.Take();
  f.speaker.Apply(PlanOf({b}, {"192.0.2.10/32"}));
  EXPECT_EQ(f.Take(), (Log{"tor-a:stop", "tor-b:routes 192.0.2.10/32"}));
  EXPECT_EQ(f.speaker.Status()["sessions"].size(), 1u);
  EXPECT_EQ(f.speaker.Status()["sessions"][0]["name"], "tor-b");
}

TEST(SpeakerReconcile, ShutdownStopsForRestartAndWaitsForTheSessionsToFlush) {
  Fixture f;
  f.speaker.Apply(PlanOf({Peer("tor-a", "10.0.0.1")}, {"192.0.2.10/32"}));
  f.Take();
  f.made[0]->flushed = false;
  bool done = false;
  f.speaker.Shutdown([&] { done = true; });
  EXPECT_EQ(f.Take(), (Log{"tor-a:stop-for-restart"}));
  f.io.run_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(done) << "shutdown finished while a session still had unsent data";
  f.made[0]->flushed = true;
  f.io.run_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(done);
  // A plan arriving during shutdown starts nothing.
  f.speaker.Apply(PlanOf({Peer("tor-c", "10.0.0.3")}, {"192.0.2.10/32"}));
  EXPECT_TRUE(f.Take().empty());
}

}  // namespace
}  // namespace ironlb::bgp
