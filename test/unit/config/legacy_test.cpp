// The legacy ConfigMap format, converted as MetalLB's configmaptocrs converts it.
#include "config/legacy.h"

#include <gtest/gtest.h>

#include "config/decode.h"

namespace ironlb::config {
namespace {

using std::chrono::milliseconds;

Snapshot Decode(const std::string& yaml) {
  Snapshot s;
  DecodeYaml(yaml, "cm.yaml", &s);
  return s;
}

std::string ConfigMap(const std::string& config, const std::string& ns = "metallb-system") {
  std::string indented;
  size_t pos = 0;
  while (pos < config.size()) {
    size_t end = config.find('\n', pos);
    if (end == std::string::npos) end = config.size();
    indented += "    " + config.substr(pos, end - pos) + "\n";
    pos = end + 1;
  }
  return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config, namespace: " + ns +
         "}\ndata:\n  config: |\n" + indented;
}

TEST(Legacy, PeersGetNamesAndConverterDefaults) {
  Snapshot s = Decode(ConfigMap(R"(peers:
- peer-address: 10.0.0.1
  peer-asn: 64512
  my-asn: 64513
- peer-address: 10.0.0.2
  peer-asn: 64512
  my-asn: 64513
  peer-port: 1179
  source-address: 10.0.0.9
  hold-time: 120.7s
  keepalive-time: 30s
  router-id: 1.2.3.4
  password: pw
  bfd-profile: My_Profile
  ebgp-multihop: true
  node-selectors:
  - match-labels: {rack: r1}
    match-expressions:
    - {key: arch, operator: In, values: [amd64]}
)"));
  ASSERT_TRUE(s.decode_errors.empty()) << s.decode_errors[0].str();
  ASSERT_EQ(s.peers.size(), 2u);
  const BGPPeer& a = s.peers[0];
  EXPECT_EQ(a.meta.name, "peer1");
  EXPECT_EQ(a.meta.ns, "metallb-system");
  EXPECT_EQ(a.meta.source, "cm.yaml");
  EXPECT_EQ(a.hold_time, milliseconds(90000)) << "configmaptocrs always writes holdTime";
  EXPECT_FALSE(a.keepalive_time);
  EXPECT_EQ(a.peer_port, 179);
  const BGPPeer& b = s.peers[1];
  EXPECT_EQ(b.meta.name, "peer2");
  EXPECT_EQ(b.peer_port, 1179);
  EXPECT_EQ(b.hold_time, milliseconds(120000)) << "whole seconds only";
  EXPECT_EQ(b.keepalive_time, milliseconds(30000));
  EXPECT_EQ(b.source_address, "10.0.0.9");
  EXPECT_EQ(b.router_id, "1.2.3.4");
  EXPECT_EQ(b.password, "pw");
  EXPECT_EQ(b.bfd_profile, "my-profile") << "references follow the renamed profile";
  EXPECT_TRUE(b.ebgp_multihop);
  EXPECT_EQ(b.node_selectors[0].match_labels.at("rack"), "r1");
  EXPECT_EQ(b.node_selectors[0].match_expressions[0].key, "arch");
}

TEST(Legacy, PoolsAndTheirAdvertisements) {
  Snapshot s = Decode(ConfigMap(R"(address-pools:
- name: l2pool
  protocol: layer2
  addresses: [192.168.1.0/28]
- name: bgp-default
  protocol: bgp
  addresses: [10.0.0.0/24]
  auto-assign: false
  avoid-buggy-ips: true
- name: bgp-custom
  protocol: bgp
  addresses: [10.1.0.0/24]
  bgp-advertisements:
  - aggregation-length: 24
    aggregation-length-v6: 64
    localpref: 50
    communities: [64512:1, no-export]
  - {}
- name: typo-l2
  protocol: l2
  addresses: [192.168.2.0/28]
bgp-communities:
  no-export: 65535:65281
  a-first: 1:1
)",
                                "lb"));
  ASSERT_TRUE(s.decode_errors.empty()) << s.decode_errors[0].str();
  ASSERT_EQ(s.pools.size(), 4u);
  EXPECT_EQ(s.pools[0].meta.ns, "lb") << "objects go to the ConfigMap's namespace";
  EXPECT_TRUE(s.pools[0].auto_assign);
  EXPECT_FALSE(s.pools[1].auto_assign);
  EXPECT_TRUE(s.pools[1].avoid_buggy_ips);
  ASSERT_EQ(s.bgp_advertisements.size(), 3u);
  EXPECT_EQ(s.bgp_advertisements[0].meta.name, "bgpadvertisement1");
  EXPECT_EQ(s.bgp_advertisements[0].ip_address_pools, std::vector<std::string>{"bgp-default"});
  EXPECT_FALSE(s.bgp_advertisements[0].aggregation_length_set);
  const BGPAdvertisement& custom = s.bgp_advertisements[1];
  EXPECT_EQ(custom.meta.name, "bgpadvertisement2");
  EXPECT_EQ(custom.aggregation_length, 24);
  EXPECT_EQ(custom.aggregation_length_v6, 64);
  EXPECT_EQ(custom.local_pref, 50u);
  EXPECT_EQ(custom.communities, (std::vector<std::string>{"64512:1", "no-export"}));
  EXPECT_EQ(s.bgp_advertisements[2].ip_address_pools, std::vector<std::string>{"bgp-custom"});
  // Only layer2 pools get an L2Advertisement; configmaptocrs silently drops "l2".
  ASSERT_EQ(s.l2_advertisements.size(), 1u);
  EXPECT_EQ(s.l2_advertisements[0].meta.name, "l2advertisement1");
  EXPECT_EQ(s.l2_advertisements[0].ip_address_pools, std::vector<std::string>{"l2pool"});
  ASSERT_EQ(s.communities.size(), 1u);
  EXPECT_EQ(s.communities[0].meta.name, "communities");
  ASSERT_EQ(s.communities[0].communities.size(), 2u);
  EXPECT_EQ(s.communities[0].communities[0].name, "a-first") << "sorted, as the converter does";
  EXPECT_EQ(s.communities[0].communities[1].value, "65535:65281");
}

TEST(Legacy, BFDProfilesAndBareDataFragment) {
  Snapshot s = Decode(R"(
    bfd-profiles:
    - name: full1
      receive-interval: 179
      transmit-interval: 180
      echo-interval: 62
      echo-mode: true
      passive-mode: true
      minimum-ttl: 254
      detect-multiplier: 5
)");
  ASSERT_TRUE(s.decode_errors.empty()) << s.decode_errors[0].str();
  ASSERT_EQ(s.bfd_profiles.size(), 1u);
  const BFDProfile& b = s.bfd_profiles[0];
  EXPECT_EQ(b.meta.ns, "metallb-system");
  EXPECT_EQ(b.receive_interval_ms, 179u);
  EXPECT_EQ(b.transmit_interval_ms, 180u);
  EXPECT_EQ(b.echo_interval_ms, 62u);
  EXPECT_TRUE(b.echo_mode);
  EXPECT_TRUE(b.passive_mode);
  EXPECT_EQ(b.detect_multiplier, 5u);
}

TEST(Legacy, NamesBecomeKubernetesNames) {
  EXPECT_EQ(LegacyNameToK8s("good-name"), "good-name");
  EXPECT_EQ(LegacyNameToK8s("01-numbered-addresspool"), "numbered-addresspool");
  EXPECT_EQ(LegacyNameToK8s("Capitalized-AddressPool"), "capitalized-addresspool");
  EXPECT_EQ(LegacyNameToK8s("underscored_bfd_profile"), "underscored-bfd-profile");
  EXPECT_EQ(LegacyNameToK8s(std::string(70, 'a')), std::string(63, 'a'));
  EXPECT_EQ(LegacyNameToK8s("1234"), "");
}

TEST(Legacy, ErrorsNameTheConfigMapAndTheKey) {
  struct Case {
    const char* config;
    const char* field;
  } cases[] = {
      {"peers:\n- {peer-address: 1.1.1.1, peer-asn: 1, my-asn: 2, hold-time: 120}\n",
       "data.config.peers[0].hold-time"},
      {"peers:\n- {peer-address: 1.1.1.1, peer-asn: 1, my-asn: 2, hold-time: 1s}\n",
       "data.config.peers[0].hold-time"},
      {"peers:\n- {peer-address: 1.1.1.1, peer-asn: 1, my-asn: 2, bfdProfile: x}\n",
       "data.config.peers[0].bfdProfile"},
      {"address-pools:\n- {name: p, protocol: ospf, addresses: [10.0.0.0/24]}\n",
       "data.config.address-pools[0].protocol"},
      {"address-pools:\n- {name: '42', protocol: bgp, addresses: [10.0.0.0/24]}\n",
       "data.config.address-pools[0].name"},
      {"peers:\n- node-selectors: [{match-expressions: [{key: a, operator: Near, values: [b]}]}]\n",
       "data.config.peers[0].node-selectors[0].match-expressions[0].operator"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.config);
    Snapshot s = Decode(ConfigMap(c.config));
    ASSERT_EQ(s.decode_errors.size(), 1u);
    EXPECT_EQ(s.decode_errors[0].field, c.field) << s.decode_errors[0].str();
    EXPECT_EQ(s.decode_errors[0].object, (ObjectRef{"ConfigMap", "metallb-system", "config"}));
    EXPECT_TRUE(s.peers.empty());
    EXPECT_TRUE(s.pools.empty());
  }
}

TEST(Legacy, OtherConfigMapsAreNotOurs) {
  Snapshot s = Decode(
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: default}\n"
      "data:\n  config: |\n    logLevel: debug\n");
  EXPECT_TRUE(s.decode_errors.empty());
  EXPECT_TRUE(s.pools.empty());
  // MetalLB's own ConfigMap with a misspelt section is reported.
  Snapshot typo = Decode(ConfigMap("adress-pools: []\n"));
  ASSERT_EQ(typo.decode_errors.size(), 1u);
  EXPECT_EQ(typo.decode_errors[0].field, "data.config.adress-pools");
}

}  // namespace
}  // namespace ironlb::config
