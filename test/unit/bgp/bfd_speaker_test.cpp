// How the speaker turns a BGPPeer's bfdProfile into a BFD session configuration.
#include <gtest/gtest.h>

#include "bgp/speaker.h"

namespace ironlb::bgp {
namespace {

using std::chrono::milliseconds;

struct Fixture {
  Config cfg;
  BGPPeer peer;
  SessionConfig session;
  Fixture() {
    peer.meta.name = "tor";
    peer.peer_address = "10.0.0.1";
    peer.my_asn = 64512;
    peer.peer_asn = 64513;
    peer.source_address = "10.0.0.2";
    session = *Speaker::SessionConfigFor(peer, Model(Config{}, Snapshot{}), "node-a");
  }
};

TEST(BfdSpeaker, ProfileBecomesSessionParameters) {
  Fixture f;
  BFDProfile b;
  b.meta.name = "fast";
  b.receive_interval_ms = 150;
  b.transmit_interval_ms = 120;
  b.detect_multiplier = 4;
  b.passive_mode = true;
  b.minimum_ttl = 250;
  f.cfg.bfd_profiles["fast"] = b;
  f.peer.bfd_profile = "fast";
  auto l = Speaker::BfdConfigFor(f.peer, f.cfg, f.session);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->peer, *IPAddr::Parse("10.0.0.1"));
  EXPECT_EQ(l->local, IPAddr::Parse("10.0.0.2"));
  EXPECT_EQ(l->params.required_min_rx, milliseconds(150));
  EXPECT_EQ(l->params.desired_min_tx, milliseconds(120));
  EXPECT_EQ(l->params.detect_mult, 4);
  EXPECT_TRUE(l->params.passive);
  EXPECT_EQ(l->minimum_ttl, 250);
}

TEST(BfdSpeaker, NoProfileNoBfd) {
  Fixture f;
  EXPECT_FALSE(Speaker::BfdConfigFor(f.peer, f.cfg, f.session));
  f.peer.bfd_profile = "missing";  // validation rejects this; the speaker must not assume it
  EXPECT_FALSE(Speaker::BfdConfigFor(f.peer, f.cfg, f.session));
}

TEST(BfdSpeaker, DefaultsAreMetalLBs) {
  Fixture f;
  BFDProfile b;
  b.meta.name = "default";
  f.cfg.bfd_profiles["default"] = b;
  f.peer.bfd_profile = "default";
  f.peer.source_address.clear();
  f.session = *Speaker::SessionConfigFor(f.peer, Model(Config{}, Snapshot{}), "node-a");
  auto l = Speaker::BfdConfigFor(f.peer, f.cfg, f.session);
  ASSERT_TRUE(l);
  EXPECT_FALSE(l->local);  // the kernel picks the source by route, as for the BGP connection
  EXPECT_EQ(l->params.required_min_rx, milliseconds(300));
  EXPECT_EQ(l->params.desired_min_tx, milliseconds(300));
  EXPECT_EQ(l->params.detect_mult, 3);
  EXPECT_FALSE(l->params.passive);
  EXPECT_EQ(l->minimum_ttl, 254);
}

}  // namespace
}  // namespace ironlb::bgp
