// BGPPeer, BFDProfile and Community rules.
#include "validate_test_util.h"

namespace ironlb::config::testing {
namespace {

struct PeerCase {
  const char* spec;
  const char* field;
};

TEST(ValidatePeers, EachRuleNamesItsField) {
  const PeerCase cases[] = {
      {"peerASN: 1, peerAddress: 10.0.0.1", "spec.myASN"},
      {"myASN: 1, peerAddress: 10.0.0.1", "spec.peerASN"},
      {"myASN: 1, peerASN: 2, dynamicASN: internal, peerAddress: 10.0.0.1", "spec.dynamicASN"},
      {"myASN: 1, dynamicASN: sideways, peerAddress: 10.0.0.1", "spec.dynamicASN"},
      {"myASN: 1, peerASN: 1, peerAddress: 10.0.0.1, ebgpMultiHop: true", "spec.ebgpMultiHop"},
      {"myASN: 1, dynamicASN: internal, peerAddress: 10.0.0.1, ebgpMultiHop: true",
       "spec.ebgpMultiHop"},
      {"myASN: 1, peerASN: 2", "spec.peerAddress"},
      {"myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, interface: eth0", "spec.interface"},
      {"myASN: 1, peerASN: 2, peerAddress: 10.0.0.256", "spec.peerAddress"},
      {"myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, holdTime: 1s", "spec.holdTime"},
      {"myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, holdTime: 30s, keepaliveTime: 31s",
       "spec.keepaliveTime"},
      {"myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, keepaliveTime: 500ms", "spec.holdTime"},
      {"myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, connectTime: 500ms", "spec.connectTime"},
      {"myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, connectTime: 70000s", "spec.connectTime"},
      {"myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, peerPort: 0", "spec.peerPort"},
      {"myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, peerPort: 20000", "spec.peerPort"},
      {"myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, routerID: abc", "spec.routerID"},
      {"myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, routerID: '2001:db8::1'", "spec.routerID"},
      {"myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, sourceAddress: 10.0.0.300",
       "spec.sourceAddress"},
      {"myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, sourceAddress: '2001:db8::1'",
       "spec.sourceAddress"},
      {"myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, bfdProfile: nope", "spec.bfdProfile"},
      {"myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, password: a, passwordSecret: {name: s}",
       "spec.passwordSecret"},
      {"myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, passwordSecret: {name: missing}",
       "spec.passwordSecret.name"},
      {"myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, nodeSelectors: [{matchExpressions: "
       "[{key: a, operator: Exists, values: [x]}]}]",
       "spec.nodeSelectors[0].matchExpressions[0].values"},
      {"myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, nodeSelectors: [{matchLabels: {a: b}}, "
       "{matchLabels: {a: b}}]",
       "spec.nodeSelectors[1]"},
  };
  for (const PeerCase& c : cases) {
    SCOPED_TRACE(c.spec);
    Result r = Check(Peer("p", c.spec));
    EXPECT_TRUE(r.Has("BGPPeer", "p", c.field)) << r.Errors();
    EXPECT_TRUE(r.config.peers.empty());
  }
}

TEST(ValidatePeers, AcceptedPeersAndResolvedFields) {
  Result r = Check(
      Peer("a", "myASN: 1, peerASN: 2, peerAddress: '2001:db8::1', sourceAddress: '2001:db8::2'") +
      Peer("b", "myASN: 1, dynamicASN: external, interface: eth1") +
      Peer("c", "myASN: 1, peerASN: 2, peerAddress: 10.0.0.3, holdTime: 0s, keepaliveTime: 0s") +
      Peer("d", "myASN: 1, peerASN: 2, peerAddress: 10.0.0.4, holdTime: 9s") +
      Peer("e", "myASN: 1, peerASN: 2, peerAddress: 10.0.0.5, keepaliveTime: 10s"));
  ASSERT_TRUE(r.state.valid()) << r.Errors();
  ASSERT_EQ(r.config.peers.size(), 5u);
  EXPECT_EQ(r.config.peers.at("a").address, IPAddr::Parse("2001:db8::1"));
  EXPECT_FALSE(r.config.peers.at("b").address.has_value());
}

TEST(ValidatePeers, V1beta1KeepaliveWithoutHoldIsRejected) {
  const std::string v1beta1 =
      "apiVersion: metallb.io/v1beta1\nkind: BGPPeer\nmetadata: {name: old}\n"
      "spec: {myASN: 1, peerASN: 1, peerAddress: 10.0.0.1, keepaliveTime: 30s}\n";
  Result r = Check(v1beta1);
  EXPECT_TRUE(r.Has("BGPPeer", "old", "spec.keepaliveTime")) << r.Errors();
  // The same spec as v1beta2 derives holdTime = 90s and is fine.
  EXPECT_TRUE(Check(Peer("new", "myASN: 1, peerASN: 1, peerAddress: 10.0.0.1, keepaliveTime: 30s"))
                  .state.valid());
}

TEST(ValidatePeers, PasswordSecret) {
  const std::string secret =
      "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: metallb-system}\n"
      "type: kubernetes.io/basic-auth\ndata: {password: bm9wYXNz}\n";
  Result ok = Check(secret + Peer("p", std::string(kPeerOK) + ", passwordSecret: {name: s}"));
  ASSERT_TRUE(ok.state.valid()) << ok.Errors();
  EXPECT_EQ(ok.config.peers.at("p").resolved_password, "nopass");

  const std::string opaque =
      "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: metallb-system}\n"
      "type: Opaque\ndata: {password: bm9wYXNz}\n";
  EXPECT_TRUE(Check(opaque + Peer("p", std::string(kPeerOK) + ", passwordSecret: {name: s}"))
                  .Has("BGPPeer", "p", "spec.passwordSecret"));
  const std::string nokey =
      "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: metallb-system}\n"
      "type: kubernetes.io/basic-auth\ndata: {username: YQ==}\n";
  EXPECT_TRUE(Check(nokey + Peer("p", std::string(kPeerOK) + ", passwordSecret: {name: s}"))
                  .Has("BGPPeer", "p", "spec.passwordSecret"));
  // A Secret in another namespace is not the one referenced.
  EXPECT_TRUE(Check(secret + Peer("p", std::string(kPeerOK) +
                                           ", passwordSecret: {name: s, namespace: other}"))
                  .Has("BGPPeer", "p", "spec.passwordSecret.name"));
}

TEST(ValidatePeers, BFDProfileReference) {
  Result ok = Check(BFD("fast", "receiveInterval: 100") +
                    Peer("p", std::string(kPeerOK) + ", bfdProfile: fast"));
  EXPECT_TRUE(ok.state.valid()) << ok.Errors();
  // A peer whose profile is itself invalid does not get it.
  Result bad = Check(BFD("fast", "receiveInterval: 1") +
                     Peer("p", std::string(kPeerOK) + ", bfdProfile: fast"));
  EXPECT_TRUE(bad.Has("BFDProfile", "fast", "spec.receiveInterval")) << bad.Errors();
  EXPECT_TRUE(bad.Has("BGPPeer", "p", "spec.bfdProfile")) << bad.Errors();
}

TEST(ValidatePeers, FRRRulesForPeersSharingANode) {
  Result rid = Check(Peer("a", "myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, routerID: 1.1.1.1") +
                     Peer("b", "myASN: 1, peerASN: 2, peerAddress: 10.0.0.2, routerID: 2.2.2.2"));
  EXPECT_TRUE(rid.Has("BGPPeer", "b", "spec.routerID")) << rid.Errors();
  EXPECT_TRUE(rid.config.peers.count("a"));
  EXPECT_EQ(rid.state.errors.size(), 1u);

  Result dup = Check(Peer("a", kPeerOK) + Peer("b", kPeerOK));
  EXPECT_TRUE(dup.Has("BGPPeer", "b", "spec.peerAddress")) << dup.Errors();
  // The same address in another VRF is another session.
  EXPECT_TRUE(
      Check(Peer("a", kPeerOK) + Peer("b", std::string(kPeerOK) + ", vrf: red")).state.valid());

  Result asn = Check(Peer("a", "myASN: 1, peerASN: 2, peerAddress: 10.0.0.1") +
                     Peer("b", "myASN: 7, peerASN: 2, peerAddress: 10.0.0.2"));
  EXPECT_TRUE(asn.Has("BGPPeer", "b", "spec.myASN")) << asn.Errors();

  // With Nodes known, peers on disjoint nodes never meet.
  Result apart =
      Check(NodeObj("n1", "{rack: r1}") + NodeObj("n2", "{rack: r2}") +
            Peer("a", std::string(kPeerOK) +
                          ", routerID: 1.1.1.1, nodeSelectors: [{matchLabels: {rack: r1}}]") +
            Peer("b", std::string(kPeerOK) +
                          ", routerID: 2.2.2.2, nodeSelectors: [{matchLabels: {rack: r2}}]"));
  EXPECT_TRUE(apart.state.valid()) << apart.Errors();
}

TEST(ValidateBFD, Ranges) {
  const PeerCase cases[] = {
      {"receiveInterval: 9", "spec.receiveInterval"},
      {"receiveInterval: 60001", "spec.receiveInterval"},
      {"transmitInterval: 9", "spec.transmitInterval"},
      {"detectMultiplier: 1", "spec.detectMultiplier"},
      {"detectMultiplier: 256", "spec.detectMultiplier"},
      {"echoInterval: 5", "spec.echoInterval"},
      {"minimumTtl: 0", "spec.minimumTtl"},
      {"minimumTtl: 255", "spec.minimumTtl"},
  };
  for (const PeerCase& c : cases) {
    SCOPED_TRACE(c.spec);
    Result r = Check(BFD("b", c.spec));
    EXPECT_TRUE(r.Has("BFDProfile", "b", c.field)) << r.Errors();
    EXPECT_TRUE(r.config.bfd_profiles.empty());
  }
  EXPECT_TRUE(Check(BFD("b",
                        "receiveInterval: 10, transmitInterval: 60000, detectMultiplier: 255, "
                        "minimumTtl: 1, echoMode: true, passiveMode: true"))
                  .state.valid());
}

TEST(ValidateCommunities, AliasesAndValues) {
  Result ok = Check(
      CommunityObj("c", "[{name: a, value: '65535:65281'}, {name: b, value: 'large:1:2:3'}]"));
  ASSERT_TRUE(ok.state.valid()) << ok.Errors();
  EXPECT_EQ(ok.config.community_aliases.at("a"), "65535:65281");
  EXPECT_EQ(ok.config.community_aliases.at("b"), "large:1:2:3");

  const PeerCase bad[] = {
      {"[{name: a, value: '1234'}]", "spec.communities[0].value"},
      {"[{name: a, value: '65536:1'}]", "spec.communities[0].value"},
      {"[{name: a, value: 'huge:1:2:3'}]", "spec.communities[0].value"},
      {"[{name: a, value: 'large:1:2:4294967296'}]", "spec.communities[0].value"},
      {"[{name: '', value: '1:1'}]", "spec.communities[0].name"},
      {"[{name: a, value: '1:1'}, {name: a, value: '1:2'}]", "spec.communities[1].name"},
  };
  for (const PeerCase& c : bad) {
    SCOPED_TRACE(c.spec);
    EXPECT_TRUE(Check(CommunityObj("c", c.spec)).Has("Community", "c", c.field));
  }
  Result across = Check(CommunityObj("c2", "[{name: a, value: '1:1'}]") +
                        CommunityObj("c1", "[{name: a, value: '1:1'}]"));
  EXPECT_TRUE(across.Has("Community", "c2", "spec.communities[0].name")) << across.Errors();
  EXPECT_TRUE(across.config.communities.count("c1"));
}

}  // namespace
}  // namespace ironlb::config::testing
