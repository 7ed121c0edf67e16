// Editing any connection field of a BGPPeer must change the session's configuration, so the
// speaker restarts the session with it (a hand-written comparison once dropped graceful restart
// and the connect timer, and such edits never reached the running session).
#include <gtest/gtest.h>

#include <functional>

#include "bgp/speaker.h"

namespace ironlb::bgp {
namespace {

BGPPeer Base() {
  BGPPeer p;
  p.meta.name = "tor";
  p.my_asn = 64512;
  p.peer_asn = 64513;
  p.peer_address = "10.0.0.1";
  p.address = IPAddr::Parse("10.0.0.1");
  return p;
}

SessionConfig For(const BGPPeer& p) {
  Node n;
  n.meta.name = "node-a";
  n.addresses = {{"InternalIP", "10.0.0.2"}};
  Snapshot snap;
  snap.nodes = {n};
  const Config cfg;
  return *Speaker::SessionConfigFor(p, Model(cfg, snap), "node-a");
}

TEST(PeerEdit, EveryConnectionFieldChangesTheSessionConfig) {
  const SessionConfig base = For(Base());
  const std::vector<std::pair<const char*, std::function<void(BGPPeer&)>>> edits = {
      {"myASN", [](BGPPeer& p) { p.my_asn = 64600; }},
      {"peerASN", [](BGPPeer& p) { p.peer_asn = 64601; }},
      {"dynamicASN", [](BGPPeer& p) { p.peer_asn = 0, p.dynamic_asn = "external"; }},
      {"peerAddress", [](BGPPeer& p) { p.peer_address = "10.0.0.9", p.address.reset(); }},
      {"peerPort", [](BGPPeer& p) { p.peer_port = 1179; }},
      {"sourceAddress", [](BGPPeer& p) { p.source_address = "10.0.0.3"; }},
      {"holdTime", [](BGPPeer& p) { p.hold_time = std::chrono::seconds(30); }},
      {"keepaliveTime", [](BGPPeer& p) { p.keepalive_time = std::chrono::seconds(5); }},
      {"connectTime", [](BGPPeer& p) { p.connect_time = std::chrono::seconds(2); }},
      {"routerID", [](BGPPeer& p) { p.router_id = "10.9.9.9"; }},
      {"password", [](BGPPeer& p) { p.password = "s3cret"; }},
      {"passwordSecret", [](BGPPeer& p) { p.resolved_password = "from-secret"; }},
      {"ebgpMultiHop", [](BGPPeer& p) { p.ebgp_multihop = true; }},
      {"enableGracefulRestart", [](BGPPeer& p) { p.enable_graceful_restart = true; }},
      {"dualStackAddressFamily", [](BGPPeer& p) { p.dual_stack_address_family = true; }},
  };
  for (const auto& [field, edit] : edits) {
    BGPPeer p = Base();
    edit(p);
    EXPECT_FALSE(For(p) == base) << "editing " << field << " would not reach the session";
  }
  EXPECT_TRUE(For(Base()) == base) << "an unchanged peer must not restart its session";
}

}  // namespace
}  // namespace ironlb::bgp
