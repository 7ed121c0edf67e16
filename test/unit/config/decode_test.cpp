// DecodeYaml: every kind and field, MetalLB's defaults, strictness, v1beta1 conversion and
// per-document error isolation.
#include "config/decode.h"

#include <gtest/gtest.h>

namespace ironlb::config {
namespace {

using std::chrono::milliseconds;

Snapshot Decode(const std::string& yaml, const std::string& file = "test.yaml") {
  Snapshot s;
  DecodeYaml(yaml, file, &s);
  return s;
}

std::string Errors(const Snapshot& s) {
  std::string out;
  for (const auto& e : s.decode_errors) out += e.str() + "\n";
  return out;
}

TEST(Decode, IPAddressPoolAllFields) {
  Snapshot s = Decode(R"(
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: pool1
  namespace: metallb-system
  labels: {zone: a}
  annotations: {note: x}
spec:
  addresses: [10.0.0.0/24, "10.0.1.1-10.0.1.9"]
  autoAssign: false
  avoidBuggyIPs: true
  serviceAllocation:
    priority: 5
    namespaces: [ns1]
    namespaceSelectors: [{matchLabels: {team: a}}]
    serviceSelectors:
    - matchExpressions: [{key: app, operator: NotIn, values: [x, z]}]
status: {assignedIPv4: 0}
)");
  ASSERT_TRUE(s.decode_errors.empty()) << Errors(s);
  ASSERT_EQ(s.pools.size(), 1u);
  const IPAddressPool& p = s.pools[0];
  EXPECT_EQ(p.meta.name, "pool1");
  EXPECT_EQ(p.meta.ns, "metallb-system");
  EXPECT_EQ(p.meta.source, "test.yaml");
  EXPECT_EQ(p.meta.api_version, "metallb.io/v1beta1");
  EXPECT_EQ(p.meta.labels.at("zone"), "a");
  EXPECT_EQ(p.meta.annotations.at("note"), "x");
  EXPECT_EQ(p.addresses, (std::vector<std::string>{"10.0.0.0/24", "10.0.1.1-10.0.1.9"}));
  EXPECT_FALSE(p.auto_assign);
  EXPECT_TRUE(p.avoid_buggy_ips);
  ASSERT_TRUE(p.service_allocation);
  EXPECT_EQ(p.service_allocation->priority, 5);
  EXPECT_EQ(p.service_allocation->namespaces, std::vector<std::string>{"ns1"});
  EXPECT_EQ(p.service_allocation->namespace_selectors[0].match_labels.at("team"), "a");
  const auto& r = p.service_allocation->service_selectors[0].match_expressions[0];
  EXPECT_EQ(r.key, "app");
  EXPECT_EQ(r.op, LabelRequirement::Op::kNotIn);
  EXPECT_EQ(r.values, (std::vector<std::string>{"x", "z"}));
}

TEST(Decode, MetalLBDefaults) {
  Snapshot s = Decode(R"(
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p}
spec: {addresses: [10.0.0.0/24]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: a}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: peer}
spec: {myASN: 1, peerASN: 2, peerAddress: 1.2.3.4}
---
apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: b}
)");
  ASSERT_TRUE(s.decode_errors.empty()) << Errors(s);
  EXPECT_TRUE(s.pools[0].auto_assign);
  EXPECT_FALSE(s.pools[0].avoid_buggy_ips);
  EXPECT_FALSE(s.pools[0].service_allocation);
  EXPECT_EQ(s.bgp_advertisements[0].aggregation_length, 32);
  EXPECT_EQ(s.bgp_advertisements[0].aggregation_length_v6, 128);
  EXPECT_FALSE(s.bgp_advertisements[0].aggregation_length_set);
  EXPECT_EQ(s.bgp_advertisements[0].local_pref, 0u);
  EXPECT_EQ(s.peers[0].peer_port, 179);
  EXPECT_FALSE(s.peers[0].hold_time);
  EXPECT_FALSE(s.peers[0].keepalive_time);
  EXPECT_EQ(s.bfd_profiles[0].receive_interval_ms, 300u);
  EXPECT_EQ(s.bfd_profiles[0].detect_multiplier, 3u);
  EXPECT_EQ(s.bfd_profiles[0].minimum_ttl, 254u);
}

TEST(Decode, AdvertisementsAllFields) {
  Snapshot s = Decode(R"(
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l2}
spec:
  ipAddressPools: [p1]
  ipAddressPoolSelectors: [{matchLabels: {a: b}}]
  nodeSelectors: [{matchLabels: {kubernetes.io/hostname: n1}}]
  interfaces: [eth0, eth1]
  serviceSelectors: [{matchExpressions: [{key: app, operator: Exists}]}]
  preferredNodeSelectors:
  - weight: 50
    preference: {matchLabels: {tier: gold}}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: bgp}
spec:
  aggregationLength: 24
  aggregationLengthV6: 64
  localPref: 150
  communities: ["65535:65282", large:1:2:3, alias]
  ipAddressPools: [p1]
  ipAddressPoolSelectors: [{matchLabels: {a: b}}]
  nodeSelectors: [{matchLabels: {x: z}}]
  peers: [peerA]
  serviceSelectors: [{matchLabels: {app: web}}]
)");
  ASSERT_TRUE(s.decode_errors.empty()) << Errors(s);
  const L2Advertisement& l2 = s.l2_advertisements[0];
  EXPECT_EQ(l2.ip_address_pools, std::vector<std::string>{"p1"});
  EXPECT_EQ(l2.ip_address_pool_selectors.size(), 1u);
  EXPECT_EQ(l2.node_selectors[0].match_labels.at("kubernetes.io/hostname"), "n1");
  EXPECT_EQ(l2.interfaces, (std::vector<std::string>{"eth0", "eth1"}));
  EXPECT_EQ(l2.service_selectors[0].match_expressions[0].op, LabelRequirement::Op::kExists);
  EXPECT_EQ(l2.preferred_node_selectors[0].weight, 50);
  EXPECT_EQ(l2.preferred_node_selectors[0].preference.match_labels.at("tier"), "gold");
  const BGPAdvertisement& b = s.bgp_advertisements[0];
  EXPECT_EQ(b.aggregation_length, 24);
  EXPECT_TRUE(b.aggregation_length_set);
  EXPECT_EQ(b.aggregation_length_v6, 64);
  EXPECT_TRUE(b.aggregation_length_v6_set);
  EXPECT_EQ(b.local_pref, 150u);
  EXPECT_EQ(b.communities, (std::vector<std::string>{"65535:65282", "large:1:2:3", "alias"}));
  EXPECT_EQ(b.peers, std::vector<std::string>{"peerA"});
  EXPECT_EQ(b.node_selectors.size(), 1u);
  EXPECT_EQ(b.service_selectors.size(), 1u);
  EXPECT_EQ(b.ip_address_pool_selectors.size(), 1u);
}

TEST(Decode, BGPPeerV1beta2AllFields) {
  Snapshot s = Decode(R"(
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: peer, namespace: metallb-system}
spec:
  myASN: 64512
  peerASN: 4200000000
  localASN: 65001
  peerAddress: 2001:db8::1
  sourceAddress: 2001:db8::2
  peerPort: 1179
  holdTime: 1m30s
  keepaliveTime: 30s
  connectTime: 5s
  routerID: 10.0.0.1
  nodeSelectors: [{matchLabels: {rack: r1}}]
  passwordSecret: {name: s, namespace: metallb-system}
  bfdProfile: fast
  enableGracefulRestart: true
  ebgpMultiHop: true
  vrf: red
  disableMP: true
  dualStackAddressFamily: true
)");
  ASSERT_TRUE(s.decode_errors.empty()) << Errors(s);
  const BGPPeer& p = s.peers[0];
  EXPECT_EQ(p.my_asn, 64512u);
  EXPECT_EQ(p.peer_asn, 4200000000u);
  EXPECT_EQ(p.local_asn, 65001u);
  EXPECT_EQ(p.peer_address, "2001:db8::1");
  EXPECT_EQ(p.source_address, "2001:db8::2");
  EXPECT_EQ(p.peer_port, 1179);
  EXPECT_EQ(p.hold_time, milliseconds(90000));
  EXPECT_EQ(p.keepalive_time, milliseconds(30000));
  EXPECT_EQ(p.connect_time, milliseconds(5000));
  EXPECT_EQ(p.router_id, "10.0.0.1");
  EXPECT_EQ(p.node_selectors[0].match_labels.at("rack"), "r1");
  EXPECT_EQ(p.password_secret.name, "s");
  EXPECT_EQ(p.password_secret.ns, "metallb-system");
  EXPECT_EQ(p.bfd_profile, "fast");
  EXPECT_TRUE(p.enable_graceful_restart);
  EXPECT_TRUE(p.ebgp_multihop);
  EXPECT_EQ(p.vrf, "red");
  EXPECT_TRUE(p.disable_mp);
  EXPECT_TRUE(p.dual_stack_address_family);
}

TEST(Decode, BGPPeerDynamicAndUnnumbered) {
  Snapshot s = Decode(R"(
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: p}
spec: {myASN: 1, dynamicASN: external, interface: net0, password: secret}
)");
  ASSERT_TRUE(s.decode_errors.empty()) << Errors(s);
  EXPECT_EQ(s.peers[0].dynamic_asn, "external");
  EXPECT_EQ(s.peers[0].interface, "net0");
  EXPECT_EQ(s.peers[0].password, "secret");
}

// MetalLB's ConvertTo points the hub's timers at the v1beta1 values: absent means 0s.
TEST(Decode, BGPPeerV1beta1ConvertsTimersToZero) {
  Snapshot s = Decode(R"(
apiVersion: metallb.io/v1beta1
kind: BGPPeer
metadata: {name: old}
spec:
  myASN: 64512
  peerASN: 64513
  peerAddress: 172.30.0.3
  sourceAddress: 172.30.0.1
  routerID: 10.0.0.1
  password: pw
  bfdProfile: b
  ebgpMultiHop: true
  nodeSelectors:
  - matchLabels: {a: b}
    matchExpressions: [{key: k, operator: In, values: [v]}]
---
apiVersion: metallb.io/v1beta1
kind: BGPPeer
metadata: {name: keepalive-only}
spec: {myASN: 1, peerASN: 2, peerAddress: 1.1.1.1, keepaliveTime: 30s, peerPort: 1}
)");
  ASSERT_TRUE(s.decode_errors.empty()) << Errors(s);
  const BGPPeer& p = s.peers[0];
  EXPECT_EQ(p.hold_time, milliseconds(0));
  EXPECT_EQ(p.keepalive_time, milliseconds(0));
  EXPECT_EQ(p.peer_port, 179) << "v1beta1 has no default; 0 means the BGP port";
  EXPECT_EQ(p.node_selectors[0].match_expressions[0].key, "k");
  EXPECT_EQ(p.source_address, "172.30.0.1");
  EXPECT_TRUE(p.ebgp_multihop);
  EXPECT_EQ(s.peers[1].hold_time, milliseconds(0));
  EXPECT_EQ(s.peers[1].keepalive_time, milliseconds(30000));
  EXPECT_EQ(s.peers[1].peer_port, 1);
}

TEST(Decode, BGPPeerV1beta1HasNoV1beta2Fields) {
  Snapshot s = Decode(R"(
apiVersion: metallb.io/v1beta1
kind: BGPPeer
metadata: {name: old}
spec: {myASN: 1, peerASN: 2, peerAddress: 1.1.1.1, vrf: red}
)");
  ASSERT_EQ(s.decode_errors.size(), 1u);
  EXPECT_EQ(s.decode_errors[0].field, "spec.vrf");
}

TEST(Decode, BFDProfileAndCommunity) {
  Snapshot s = Decode(R"(
apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: b}
spec: {receiveInterval: 50, transmitInterval: 51, detectMultiplier: 52, echoInterval: 54,
       echoMode: true, passiveMode: true, minimumTtl: 55}
---
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: c}
spec:
  communities:
  - {name: NO_ADVERTISE, value: 65535:65282}
  - {name: big, value: large:1:2:3}
)");
  ASSERT_TRUE(s.decode_errors.empty()) << Errors(s);
  const BFDProfile& b = s.bfd_profiles[0];
  EXPECT_EQ(b.receive_interval_ms, 50u);
  EXPECT_EQ(b.transmit_interval_ms, 51u);
  EXPECT_EQ(b.detect_multiplier, 52u);
  EXPECT_EQ(b.echo_interval_ms, 54u);
  EXPECT_TRUE(b.echo_mode);
  EXPECT_TRUE(b.passive_mode);
  EXPECT_EQ(b.minimum_ttl, 55u);
  ASSERT_EQ(s.communities[0].communities.size(), 2u);
  EXPECT_EQ(s.communities[0].communities[0].name, "NO_ADVERTISE");
  EXPECT_EQ(s.communities[0].communities[0].value, "65535:65282");  // a string, not base 60
  EXPECT_EQ(s.communities[0].communities[1].value, "large:1:2:3");
}

TEST(Decode, CoreKinds) {
  Snapshot s = Decode(R"(
apiVersion: v1
kind: Service
metadata:
  name: web
  annotations: {metallb.io/loadBalancerIPs: "10.0.0.5"}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80, targetPort: http, nodePort: 30080}, {port: 53, protocol: UDP}]
  selector: {app: web}
  clusterIP: 10.96.0.10
  loadBalancerIP: 10.0.0.5
  loadBalancerClass: ironlb
  externalTrafficPolicy: Local
  ipFamilies: [IPv4, IPv6]
  ipFamilyPolicy: PreferDualStack
status:
  loadBalancer:
    ingress: [{ip: 10.0.0.5, ipMode: VIP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc, namespace: prod, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
- addresses: [10.244.1.5]
  conditions: {ready: true, serving: true, terminating: false}
  nodeName: node1
  zone: z1
  hostname: pod1
- addresses: [10.244.1.6]
ports: [{name: http, port: 8080, protocol: TCP}]
---
apiVersion: v1
kind: Node
metadata: {name: node1, labels: {rack: r1}}
spec: {unschedulable: true}
status:
  addresses: [{type: InternalIP, address: 192.168.1.10}, {type: Hostname, address: node1}]
  conditions: [{type: Ready, status: "True"}, {type: NetworkUnavailable, status: "False"}]
---
apiVersion: v1
kind: Namespace
metadata: {name: prod, labels: {team: a}}
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: metallb-system}
type: kubernetes.io/basic-auth
data: {password: bm9wYXNz}
stringData: {username: admin}
)");
  ASSERT_TRUE(s.decode_errors.empty()) << Errors(s);
  const Service& svc = s.services[0];
  EXPECT_EQ(svc.meta.ns, "default");
  EXPECT_EQ(svc.type, "LoadBalancer");
  ASSERT_EQ(svc.ports.size(), 2u);
  EXPECT_EQ(svc.ports[0].target_port, "http");
  EXPECT_EQ(svc.ports[0].node_port, 30080);
  EXPECT_EQ(svc.ports[1].protocol, "UDP");
  EXPECT_EQ(svc.ports[1].target_port, "53");
  EXPECT_EQ(svc.selector.at("app"), "web");
  EXPECT_EQ(svc.cluster_ip, "10.96.0.10");
  EXPECT_EQ(svc.load_balancer_ip, "10.0.0.5");
  EXPECT_EQ(svc.load_balancer_class, "ironlb");
  EXPECT_EQ(svc.external_traffic_policy, "Local");
  EXPECT_EQ(svc.ip_families, (std::vector<std::string>{"IPv4", "IPv6"}));
  EXPECT_EQ(svc.ip_family_policy, "PreferDualStack");
  EXPECT_EQ(svc.ingress[0].ip, IPAddr::Parse("10.0.0.5"));
  EXPECT_EQ(svc.ingress[0].ip_mode, "VIP");
  EXPECT_EQ(MetalLBAnnotation(svc.meta, "loadBalancerIPs"), "10.0.0.5");

  const EndpointSlice& es = s.endpoint_slices[0];
  EXPECT_EQ(es.service_name(), "web");
  EXPECT_EQ(es.address_type, "IPv4");
  EXPECT_EQ(es.endpoints[0].conditions.ready, true);
  EXPECT_EQ(es.endpoints[0].conditions.terminating, false);
  EXPECT_EQ(es.endpoints[0].node_name, "node1");
  EXPECT_EQ(es.endpoints[0].zone, "z1");
  EXPECT_EQ(es.endpoints[0].hostname, "pod1");
  EXPECT_FALSE(es.endpoints[1].conditions.ready.has_value());
  EXPECT_EQ(es.ports[0].port, 8080);

  const Node& n = s.nodes[0];
  EXPECT_EQ(n.meta.labels.at("rack"), "r1");
  EXPECT_TRUE(n.unschedulable);
  EXPECT_EQ(n.addresses[0].type, "InternalIP");
  EXPECT_EQ(n.addresses[0].address, "192.168.1.10");
  EXPECT_EQ(n.ready, true);
  EXPECT_EQ(n.network_unavailable, false);

  EXPECT_EQ(s.namespaces[0].meta.labels.at("team"), "a");
  EXPECT_EQ(s.secrets[0].type, "kubernetes.io/basic-auth");
  EXPECT_EQ(s.secrets[0].data.at("password"), "nopass");
  EXPECT_EQ(s.secrets[0].data.at("username"), "admin");
}

TEST(Decode, ListItemsAndOtherKinds) {
  Snapshot s = Decode(R"(
apiVersion: v1
kind: List
items:
- apiVersion: metallb.io/v1beta1
  kind: IPAddressPool
  metadata: {name: a}
  spec: {addresses: [10.0.0.0/24]}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  spec: {whatever: [1, 2]}
- apiVersion: metallb.io/v1beta1
  kind: IPAddressPool
  metadata: {name: b}
  spec: {addresses: [10.0.1.0/24], typo: 1}
---
apiVersion: frrk8s.metallb.io/v1beta1
kind: FRRConfiguration
metadata: {name: x}
spec: {anything: goes}
---
apiVersion: metallb.io/v1beta1
kind: ServiceL2Status
metadata: {name: s}
status: {node: n}
)");
  ASSERT_EQ(s.pools.size(), 1u);
  EXPECT_EQ(s.pools[0].meta.name, "a");
  ASSERT_EQ(s.decode_errors.size(), 1u) << Errors(s);
  EXPECT_EQ(s.decode_errors[0].field, "items[2].spec.typo");
  EXPECT_EQ(s.decode_errors[0].object.name, "b");
}

TEST(Decode, MisspeltMetalLBKindIsAnErrorNamingTheNearestKind) {
  Snapshot s = Decode(R"(
apiVersion: metallb.io/v1beta1
kind: IPAdressPool
metadata: {name: public, namespace: metallb-system}
spec: {addresses: [10.0.0.0/24]}
---
apiVersion: metallb.io/v1beta1
kind: Gateway
metadata: {name: g}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l2}
)");
  EXPECT_EQ(s.l2_advertisements.size(), 1u) << "the other documents still load";
  ASSERT_EQ(s.decode_errors.size(), 2u) << Errors(s);
  EXPECT_EQ(s.decode_errors[0].field, "kind");
  EXPECT_EQ(s.decode_errors[0].object.name, "public");
  EXPECT_NE(s.decode_errors[0].message.find("did you mean IPAddressPool?"), std::string::npos)
      << s.decode_errors[0].message;
  EXPECT_NE(s.decode_errors[1].message.find("unknown kind 'Gateway'"), std::string::npos)
      << s.decode_errors[1].message;
}

TEST(Decode, FieldNamesMatchCaseInsensitivelyLikeGo) {
  Snapshot s = Decode(R"(
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: a}
spec: {ipaddresspools: [p1]}
)");
  ASSERT_TRUE(s.decode_errors.empty()) << Errors(s);
  EXPECT_EQ(s.l2_advertisements[0].ip_address_pools, std::vector<std::string>{"p1"});
}

struct BadCase {
  const char* yaml;
  const char* field;
};

TEST(Decode, StrictErrorsNameFileObjectAndField) {
  const BadCase cases[] = {
      {"apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p}\n"
       "spec: {addresses: [10.0.0.0/24, {a: b}]}\n",
       "spec.addresses[1]"},
      {"apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p}\n"
       "spec: {addresses: [10.0.0.0/24], autoAssign: \"no\"}\n",
       "spec.autoAssign"},
      {"apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p}\n"
       "spec: {myASN: \"64512\", peerASN: 1, peerAddress: 1.1.1.1}\n",
       "spec.myASN"},
      {"apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p}\n"
       "spec: {myASN: 4294967296, peerASN: 1, peerAddress: 1.1.1.1}\n",
       "spec.myASN"},
      {"apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p}\n"
       "spec: {myASN: 1, peerASN: 1, peerAddress: 1.1.1.1, holdTime: 90}\n",
       "spec.holdTime"},
      {"apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p}\n"
       "spec: {myASN: 1, peerASN: 1, peerAddress: 1.1.1.1, keepaliveTime: 5parsecs}\n",
       "spec.keepaliveTime"},
      {"apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p}\n"
       "spec: {myASN: 1, peerASN: 1, peerAddress: 1.1.1.1,\n"
       "       nodeSelectors: [{matchExpressions: [{key: a, operator: Near, values: [b]}]}]}\n",
       "spec.nodeSelectors[0].matchExpressions[0].operator"},
      {"apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p}\n"
       "spec: {myASN: 1, peerASN: 1, peerAddress: 1.1.1.1, password: 1234}\n",
       "spec.password"},
      {"apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: p}\n"
       "spec: {localPref: -1}\n",
       "spec.localPref"},
      {"apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: p}\n"
       "spec: {peers: peerA}\n",
       "spec.peers"},
      {"apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p}\n"
       "spec: {addresses: [10.0.0.0/24]}\nextra: 1\n",
       "extra"},
      {"apiVersion: metallb.io/v1beta2\nkind: IPAddressPool\nmetadata: {name: p}\n"
       "spec: {addresses: [10.0.0.0/24]}\n",
       "apiVersion"},
      {"apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {namespace: x}\n"
       "spec: {addresses: [10.0.0.0/24]}\n",
       "metadata.name"},
      {"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: '***'}\n",
       "data.password"},
      {"apiVersion: metallb.io/v1beta1\nkind: AddressPool\nmetadata: {name: p}\n"
       "spec: {protocol: layer2}\n",
       "kind"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.yaml);
    Snapshot s = Decode(c.yaml, "dir/bad.yaml");
    ASSERT_EQ(s.decode_errors.size(), 1u) << Errors(s);
    const ConfigError& e = s.decode_errors[0];
    EXPECT_EQ(e.file, "dir/bad.yaml");
    EXPECT_EQ(e.field, c.field) << e.str();
    EXPECT_FALSE(e.object.kind.empty());
    EXPECT_FALSE(e.message.empty());
  }
}

// A document that cannot be decoded is reported alone; the documents around it still load.
TEST(Decode, BrokenDocumentDoesNotHideTheOthers) {
  Snapshot s = Decode(R"(apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: good1}
spec: {addresses: [10.0.0.0/24]}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: typo
  namespace: metallb-system
spec:
  addresses: [10.1.0.0/24]
  autoAsign: false
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: broken
spec: {addresses: [10.2.0.0/24]}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: good2}
)",
                      "cfg/pools.yaml");
  ASSERT_EQ(s.pools.size(), 1u);
  EXPECT_EQ(s.pools[0].meta.name, "good1");
  ASSERT_EQ(s.l2_advertisements.size(), 1u);
  EXPECT_EQ(s.l2_advertisements[0].meta.name, "good2");
  ASSERT_EQ(s.decode_errors.size(), 2u) << Errors(s);
  const ConfigError& typo = s.decode_errors[0];
  EXPECT_EQ(typo.file, "cfg/pools.yaml");
  EXPECT_EQ(typo.object, (ObjectRef{"IPAddressPool", "metallb-system", "typo"}));
  EXPECT_EQ(typo.field, "spec.autoAsign");
  EXPECT_EQ(typo.str(),
            "cfg/pools.yaml: IPAddressPool metallb-system/typo: spec.autoAsign: unknown field "
            "\"autoAsign\"");
  const ConfigError& syntax = s.decode_errors[1];
  EXPECT_EQ(syntax.file, "cfg/pools.yaml");
  // The flow mapping opened on line 17 of the file is never closed.
  EXPECT_NE(syntax.message.find("line 1"), std::string::npos) << syntax.message;
  EXPECT_NE(syntax.message.find("YAML syntax error"), std::string::npos) << syntax.message;
}

TEST(Decode, SyntaxErrorLineIsCountedFromTheFileStart) {
  Snapshot s = Decode(
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n"
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n bad: indent\n---\n"
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: c}\n",
      "f.yaml");
  ASSERT_EQ(s.decode_errors.size(), 1u) << Errors(s);
  EXPECT_NE(s.decode_errors[0].message.find("line 9,"), std::string::npos)
      << s.decode_errors[0].message;
  EXPECT_EQ(s.namespaces.size(), 2u);
  // Kinds are named even when the document does not parse.
  EXPECT_EQ(s.decode_errors[0].object.kind, "Namespace");
  EXPECT_EQ(s.decode_errors[0].object.name, "b");
}

TEST(Decode, DocumentWithoutKindIsAnError) {
  Snapshot s = Decode("a: 1\n", "f.yaml");
  ASSERT_EQ(s.decode_errors.size(), 1u);
  EXPECT_EQ(s.decode_errors[0].field, "kind");
}

TEST(Decode, EncodeRoundTrips) {
  const std::string yaml = R"(
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: p, namespace: metallb-system, labels: {a: b}}
spec:
  addresses: [10.0.0.0/24]
  autoAssign: false
  serviceAllocation: {priority: 2, namespaces: [x], serviceSelectors: [{matchLabels: {app: "true"}}]}
---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: peer}
spec: {myASN: 1, peerASN: 2, peerAddress: 1.1.1.1, holdTime: 0s, connectTime: 2s, vrf: red,
       passwordSecret: {name: s}}
---
apiVersion: metallb.io/v1beta1
kind: Community
metadata: {name: c}
spec: {communities: [{name: a, value: "64512:1"}]}
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: adv}
spec: {aggregationLength: 32, communities: ["64512:1"], localPref: 7}
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: l2}
spec: {interfaces: [eth0], preferredNodeSelectors: [{weight: 3, preference: {matchLabels: {a: b}}}]}
---
apiVersion: metallb.io/v1beta1
kind: BFDProfile
metadata: {name: b}
spec: {echoMode: true, minimumTtl: 10}
)";
  Snapshot first = Decode(yaml);
  ASSERT_TRUE(first.decode_errors.empty()) << Errors(first);
  const std::string text = EncodeYaml(first);
  Snapshot second = Decode(text);
  ASSERT_TRUE(second.decode_errors.empty()) << Errors(second) << text;
  EXPECT_EQ(EncodeYaml(second), text);
  EXPECT_EQ(second.peers[0].hold_time, milliseconds(0));
  EXPECT_EQ(second.pools[0].service_allocation->service_selectors[0].match_labels.at("app"),
            "true");
  EXPECT_NE(text.find("\"64512:1\""), std::string::npos)
      << "YAML 1.1 would read 64512:1 as base 60";
}

}  // namespace
}  // namespace ironlb::config

namespace ironlb::config {
namespace {

TEST(Decode, MisspeltCoreKindIsAnErrorAndOtherCoreKindsStaySilent) {
  // A Services file with `kind: Servce` used to load without a word, deleting the Service.
  Snapshot s = Decode(R"(
apiVersion: v1
kind: Servce
metadata: {name: web, namespace: demo}
spec: {type: LoadBalancer, ports: [{port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlise
metadata: {name: web-1, namespace: demo}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: demo}
---
apiVersion: v1
kind: ServiceList
items: []
---
apiVersion: apps/v1
kind: Deploymnet
metadata: {name: d, namespace: demo}
)");
  ASSERT_EQ(s.decode_errors.size(), 2u);
  EXPECT_EQ(s.decode_errors[0].field, "kind");
  EXPECT_EQ(s.decode_errors[0].object.name, "web");
  EXPECT_NE(s.decode_errors[0].message.find("unknown kind 'Servce' in v1: did you mean Service?"),
            std::string::npos)
      << s.decode_errors[0].message;
  EXPECT_NE(s.decode_errors[1].message.find("did you mean EndpointSlice?"), std::string::npos)
      << s.decode_errors[1].message;
}

// A large file's second half of documents is decoded on a thread of its own: the objects and
// the errors must come out as one thread gives them, in the file's order, with the same lines.
TEST(Decode, TwoThreadsGiveWhatOneThreadGives) {
  std::string text;
  for (int i = 0; i < 3000; ++i) {
    const std::string n = std::to_string(i);
    text += "---\napiVersion: v1\nkind: Service\nmetadata: {name: s" + n +
            ", namespace: a}\nspec:\n  type: LoadBalancer\n  ports: [{port: " +
            std::to_string(1 + i % 60000) + "}]\n";
    // Errors in both halves: a syntax error and wrong types.
    if (i % 700 == 5) text += "---\nkind: [oops\n";
    if (i % 900 == 7)
      text += "---\napiVersion: v1\nkind: Service\nmetadata: {name: bad" + n +
              "}\nspec: {ports: [{port: x}]}\n";
    if (i % 1100 == 9) {
      text += "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e" + n +
              ", namespace: a, labels: {kubernetes.io/service-name: s" + n +
              "}}\naddressType: [IPv4]\nendpoints: [{addresses: [10.0.0." +
              std::to_string(i % 250) + "]}]\n";
      text += "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: f" + n +
              ", namespace: a}\naddressType: IPv4\nendpoints: [{addresses: [10.0.2.1]}]\n";
    }
  }
  ASSERT_GE(text.size(), kParallelDecodeBytes);
  Snapshot one;
  Snapshot two;
  DecodeYaml(text, "big.yaml", &one, nullptr, 1);
  DecodeYaml(text, "big.yaml", &two, nullptr, 2);
  ASSERT_EQ(one.services.size(), 3000u);
  ASSERT_EQ(two.services.size(), one.services.size());
  for (size_t i = 0; i < one.services.size(); ++i) {
    EXPECT_EQ(two.services[i].meta.name, one.services[i].meta.name);
    ASSERT_EQ(two.services[i].ports.size(), 1u);
    EXPECT_EQ(two.services[i].ports[0].port, one.services[i].ports[0].port);
  }
  ASSERT_EQ(one.endpoint_slices.size(), 3u);
  ASSERT_EQ(two.endpoint_slices.size(), 3u);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(two.endpoint_slices[i].meta.name, one.endpoint_slices[i].meta.name);
  EXPECT_EQ(two.decode_errors, one.decode_errors);
  EXPECT_EQ(one.decode_errors.size(), 5u + 4u + 3u) << Errors(one);
  // An error in the second half still names its line in the whole file.
  const std::string& syntax = one.decode_errors.back().message;
  ASSERT_NE(syntax.find("syntax error at line "), std::string::npos) << syntax;
  const int line = std::stoi(syntax.substr(syntax.find("at line ") + 8));
  EXPECT_GT(line, std::count(text.begin(), text.end(), '\n') / 2) << syntax;
}

}  // namespace
}  // namespace ironlb::config
