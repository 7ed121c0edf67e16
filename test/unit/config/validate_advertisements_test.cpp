// L2Advertisement and BGPAdvertisement rules.
#include "validate_test_util.h"

namespace ironlb::config::testing {
namespace {

struct AdvCase {
  const char* spec;
  const char* field;
};

const std::string kPool = Pool("p", "['10.0.0.0/24']");

TEST(ValidateL2, Rules) {
  const AdvCase cases[] = {
      {"ipAddressPools: [p, p]", "spec.ipAddressPools[1]"},
      {"ipAddressPoolSelectors: [{matchLabels: {a: b}}, {matchLabels: {a: b}}]",
       "spec.ipAddressPoolSelectors[1]"},
      {"nodeSelectors: [{matchExpressions: [{key: k, operator: In}]}]",
       "spec.nodeSelectors[0].matchExpressions[0].values"},
      {"serviceSelectors: [{matchLabels: {'-bad': x}}]",
       "spec.serviceSelectors[0].matchLabels[-bad]"},
      {"interfaces: [eth0, eth0]", "spec.interfaces[1]"},
      {"interfaces: ['']", "spec.interfaces[0]"},
      {"preferredNodeSelectors: [{weight: 0, preference: {matchLabels: {a: b}}}]",
       "spec.preferredNodeSelectors[0].weight"},
      {"preferredNodeSelectors: [{weight: 101, preference: {}}]",
       "spec.preferredNodeSelectors[0].weight"},
  };
  for (const AdvCase& c : cases) {
    SCOPED_TRACE(c.spec);
    Result r = Check(kPool + L2Adv("l2", c.spec));
    EXPECT_TRUE(r.Has("L2Advertisement", "l2", c.field)) << r.Errors();
    EXPECT_TRUE(r.config.l2_advertisements.empty());
    EXPECT_TRUE(r.config.pools.count("p"));
  }
  // Names of pools that do not exist are fine (MetalLB allows them).
  Result ok = Check(
      kPool + L2Adv("l2",
                    "ipAddressPools: [p, not-yet], interfaces: [eth0], "
                    "preferredNodeSelectors: [{weight: 100, preference: {matchLabels: {a: b}}}]"));
  EXPECT_TRUE(ok.state.valid()) << ok.Errors();
}

TEST(ValidateBGPAdv, SelfRules) {
  const AdvCase cases[] = {
      {"aggregationLength: 33", "spec.aggregationLength"},
      {"aggregationLength: 0", "spec.aggregationLength"},
      {"aggregationLengthV6: 129", "spec.aggregationLengthV6"},
      {"aggregationLength: 24, serviceSelectors: [{matchLabels: {a: b}}]",
       "spec.aggregationLength"},
      {"aggregationLengthV6: 64, serviceSelectors: [{matchLabels: {a: b}}]",
       "spec.aggregationLengthV6"},
      {"ipAddressPools: [p, p]", "spec.ipAddressPools[1]"},
      {"peers: [x, x]", "spec.peers[1]"},
      {"communities: ['1:1', '1:1']", "spec.communities[1]"},
      {"communities: ['99999999:1']", "spec.communities[0]"},
      {"communities: ['1:1', '1234']", "spec.communities[1]"},
      {"communities: [unknown-alias]", "spec.communities[0]"},
      {"communities: ['large:1:2']", "spec.communities[0]"},
      {"nodeSelectors: [{matchExpressions: [{key: a, operator: In, values: [x, z]}, "
       "{key: a, operator: In, values: [z, x]}]}]",
       "spec.nodeSelectors[0].matchExpressions[1]"},
  };
  for (const AdvCase& c : cases) {
    SCOPED_TRACE(c.spec);
    Result r = Check(kPool + BGPAdv("adv", c.spec));
    EXPECT_TRUE(r.Has("BGPAdvertisement", "adv", c.field)) << r.Errors();
    EXPECT_TRUE(r.config.bgp_advertisements.empty());
  }
}

TEST(ValidateBGPAdv, CommunitiesResolveAliasesAndLiterals) {
  Result r = Check(kPool + CommunityObj("c", "[{name: no-export, value: '65535:65281'}]") +
                   BGPAdv("adv",
                          "communities: [no-export, '65535:65282', 'large:64512:1:2'], "
                          "ipAddressPools: [p], peers: [nobody-yet]"));
  EXPECT_TRUE(r.state.valid()) << r.Errors();
  // An alias whose Community object is invalid does not resolve.
  Result bad = Check(kPool + CommunityObj("c", "[{name: no-export, value: 'x'}]") +
                     BGPAdv("adv", "communities: [no-export]"));
  EXPECT_TRUE(bad.Has("BGPAdvertisement", "adv", "spec.communities[0]")) << bad.Errors();
}

TEST(ValidateBGPAdv, AggregationAgainstPools) {
  Result cidr =
      Check(Pool("p", "['10.20.30.40/24', '1.2.3.0/28']") + BGPAdv("adv", "aggregationLength: 26"));
  EXPECT_TRUE(cidr.Has("BGPAdvertisement", "adv", "spec.aggregationLength")) << cidr.Errors();
  EXPECT_TRUE(cidr.config.pools.count("p"));
  Result range = Check(Pool("p", "['3.3.3.2-3.3.3.254']") + BGPAdv("adv", "aggregationLength: 24"));
  EXPECT_TRUE(range.Has("BGPAdvertisement", "adv", "spec.aggregationLength")) << range.Errors();
  EXPECT_TRUE(Check(Pool("p", "['3.3.3.2-3.3.3.254']") + BGPAdv("adv", "aggregationLength: 26"))
                  .state.valid());
  Result v6 = Check(Pool("p", "['fc00::/64']") + BGPAdv("adv", "aggregationLengthV6: 48"));
  EXPECT_TRUE(v6.Has("BGPAdvertisement", "adv", "spec.aggregationLengthV6")) << v6.Errors();
  // Only the pools the advertisement selects count.
  EXPECT_TRUE(Check(Pool("p", "['1.2.3.0/28']") + Pool("q", "['10.0.0.0/16']") +
                    BGPAdv("adv", "aggregationLength: 16, ipAddressPools: [q]"))
                  .state.valid());
  const std::string labelled =
      "---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: l, labels: "
      "{tier: x}}\n"
      "spec: {addresses: ['1.2.3.0/28']}\n";
  Result sel = Check(
      labelled +
      BGPAdv("adv", "aggregationLength: 16, ipAddressPoolSelectors: [{matchLabels: {tier: x}}]"));
  EXPECT_TRUE(sel.Has("BGPAdvertisement", "adv", "spec.aggregationLength")) << sel.Errors();
}

TEST(ValidateBGPAdv, LocalPrefConflicts) {
  const std::string nodes = NodeObj("n1") + NodeObj("n2");
  const std::string advs = BGPAdv("adv1", "localPref: 100") + BGPAdv("adv2", "localPref: 200");
  Result r = Check(nodes + kPool + advs);
  EXPECT_TRUE(r.Has("BGPAdvertisement", "adv2", "spec.localPref")) << r.Errors();
  EXPECT_TRUE(r.config.bgp_advertisements.count("adv1"));
  // Without Nodes the node sets are empty and never collide (MetalLB's behaviour).
  EXPECT_TRUE(Check(kPool + advs).state.valid());
  // Different aggregation, disjoint peers, disjoint nodes or serviceSelectors: no conflict.
  EXPECT_TRUE(Check(nodes + kPool + BGPAdv("adv1", "localPref: 100") +
                    BGPAdv("adv2", "localPref: 200, aggregationLength: 24"))
                  .state.valid());
  EXPECT_TRUE(Check(nodes + kPool + BGPAdv("adv1", "localPref: 100, peers: [a]") +
                    BGPAdv("adv2", "localPref: 200, peers: [b]"))
                  .state.valid());
  EXPECT_TRUE(
      Check(nodes + kPool +
            BGPAdv("adv1",
                   "localPref: 100, nodeSelectors: [{matchLabels: {kubernetes.io/hostname: n1}}]") +
            BGPAdv("adv2",
                   "localPref: 200, nodeSelectors: [{matchLabels: {kubernetes.io/hostname: n2}}]"))
          .state.valid());
  const std::string labelled =
      NodeObj("n1", "{kubernetes.io/hostname: n1}") + NodeObj("n2", "{kubernetes.io/hostname: n2}");
  Result shared =
      Check(labelled + kPool +
            BGPAdv("adv1",
                   "localPref: 100, nodeSelectors: [{matchLabels: {kubernetes.io/hostname: n1}}]") +
            BGPAdv("adv2", "localPref: 200"));
  EXPECT_TRUE(shared.Has("BGPAdvertisement", "adv2", "spec.localPref")) << shared.Errors();
  EXPECT_TRUE(Check(nodes + kPool +
                    BGPAdv("adv1", "localPref: 100, serviceSelectors: [{matchLabels: {a: b}}]") +
                    BGPAdv("adv2", "localPref: 200"))
                  .state.valid());
}

TEST(ValidateBGPAdv, BFDEchoTowardsIPv6Pool) {
  const std::string base = Pool("v6", "['fc00::/64']") + BFD("echo", "echoMode: true") +
                           Peer("peer1", std::string(kPeerOK) + ", bfdProfile: echo");
  Result r = Check(base + BGPAdv("adv", ""));
  EXPECT_TRUE(r.Has("BGPAdvertisement", "adv", "spec.peers")) << r.Errors();
  EXPECT_TRUE(r.config.peers.count("peer1"));
  // Towards other peers, or for IPv4 pools, echo mode is fine.
  EXPECT_TRUE(Check(base + BGPAdv("adv", "peers: [other]")).state.valid());
  EXPECT_TRUE(Check(Pool("v4", "['10.0.0.0/24']") + BFD("echo", "echoMode: true") +
                    Peer("peer1", std::string(kPeerOK) + ", bfdProfile: echo") + BGPAdv("adv", ""))
                  .state.valid());
}

TEST(ValidateService, Annotations) {
  auto svc = [](const std::string& annotations, const std::string& spec) {
    Snapshot s;
    DecodeYaml(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: prod, annotations: " +
            annotations + "}\nspec: {type: LoadBalancer" + spec + "}\n",
        "svc.yaml", &s);
    EXPECT_TRUE(s.decode_errors.empty());
    return ValidateService(s.services.at(0));
  };
  auto has = [](const std::vector<ConfigError>& errs, const std::string& field) {
    for (const auto& e : errs) {
      if (e.field == field && e.object.kind == "Service" && e.object.name == "web" &&
          e.file == "svc.yaml") {
        return true;
      }
    }
    return false;
  };
  const std::string ann = "metadata.annotations[metallb.io/loadBalancerIPs]";
  EXPECT_TRUE(
      has(svc("{metallb.io/loadBalancerIPs: 10.0.0.1}", ", loadBalancerIP: 10.0.0.1"), ann));
  EXPECT_TRUE(has(svc("{metallb.io/loadBalancerIPs: '10.0.0.1,nope'}", ""), ann));
  EXPECT_TRUE(has(svc("{metallb.io/loadBalancerIPs: '10.0.0.1,10.0.0.2'}", ""), ann));
  EXPECT_TRUE(has(svc("{metallb.io/loadBalancerIPs: '10.0.0.1, fc00::1'}", ""), ann));
  EXPECT_TRUE(has(svc("{metallb.universe.tf/loadBalancerIPs: x}", ""),
                  "metadata.annotations[metallb.universe.tf/loadBalancerIPs]"));
  EXPECT_TRUE(has(svc("{}", ", loadBalancerIP: 10.0.0.999"), "spec.loadBalancerIP"));
  EXPECT_TRUE(has(svc("{}", ", ipFamilies: [ipv4]"), "spec.ipFamilies[0]"));
  EXPECT_TRUE(has(svc("{}", ", ipFamilyPolicy: Sometimes"), "spec.ipFamilyPolicy"));
  EXPECT_TRUE(has(svc("{metallb.io/loadBalancerIPs: 'fc00::1'}", ", ipFamilies: [IPv4]"), ann));
  EXPECT_TRUE(svc("{metallb.io/loadBalancerIPs: '10.0.0.1,fc00::1'}",
                  ", ipFamilies: [IPv4, IPv6], ipFamilyPolicy: RequireDualStack")
                  .empty());
  EXPECT_TRUE(svc("{}", ", loadBalancerIP: 10.0.0.1").empty());
  Snapshot cluster_ip;
  DecodeYaml(
      "apiVersion: v1\nkind: Service\nmetadata: {name: x, annotations: "
      "{metallb.io/loadBalancerIPs: bad}}\n",
      "f", &cluster_ip);
  EXPECT_TRUE(ValidateService(cluster_ip.services.at(0)).empty()) << "not a LoadBalancer";
}

}  // namespace
}  // namespace ironlb::config::testing
