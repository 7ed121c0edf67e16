// ironlb-agent flag parsing: defaults, roles, repeatable flags, and errors that name the flag.
#include "runtime/options.h"

#include <gtest/gtest.h>

namespace ironlb {
namespace {

std::optional<AgentOptions> Parse(std::vector<std::string> args, std::string* err) {
  bool help = false;
  return ParseAgentOptions(args, err, &help);
}

TEST(AgentOptions, DefaultsMatchTheDocumentedContract) {
  std::string err;
  auto o = Parse({"--node", "n1", "--config", "/etc/ironlb"}, &err);
  ASSERT_TRUE(o) << err;
  EXPECT_TRUE(o->want_controller && o->want_speaker);
  EXPECT_EQ(o->bpffs, "/sys/fs/bpf/ironlb");
  EXPECT_TRUE(o->nexthop_table) << "the next-hop table is on unless turned off";
  EXPECT_EQ(o->api_socket, "/run/ironlb/agent.sock");
  EXPECT_EQ(o->metrics_addr, "0.0.0.0:7472");
  EXPECT_EQ(o->ns, "ironlb-system");
  EXPECT_FALSE(o->ns_explicit);
}

TEST(AgentOptions, L2Flags) {
  std::string err;
  auto o = Parse({"--node", "n", "--config", "d"}, &err);
  ASSERT_TRUE(o) << err;
  EXPECT_EQ(o->l2_interval_ms, 100u) << "with 3 missed: a dead node found in 300 ms";
  EXPECT_EQ(o->l2_threshold, 3u);
  EXPECT_EQ(o->l2_port, 7473);
  EXPECT_TRUE(o->l2_key_file.empty());
  o = Parse({"--node", "n", "--config", "d", "--l2-key-file", "/k", "--l2-interval-ms", "50",
             "--l2-threshold", "4", "--l2-port", "9000", "--no-l2"},
            &err);
  ASSERT_TRUE(o) << err;
  EXPECT_EQ(o->l2_key_file, "/k");
  EXPECT_EQ(o->l2_interval_ms, 50u);
  EXPECT_EQ(o->l2_threshold, 4u);
  EXPECT_EQ(o->l2_port, 9000);
  EXPECT_TRUE(o->no_l2);
  o = Parse({"--node", "n", "--config", "d", "--l2-key-secret", "ironlb-system/memberlist"}, &err);
  ASSERT_TRUE(o) << err;
  EXPECT_EQ(o->l2_key_secret, "ironlb-system/memberlist");
  for (const char* bad : {"memberlist", "/memberlist", "ironlb-system/", "a/b/c"})
    EXPECT_FALSE(Parse({"--node", "n", "--config", "d", "--l2-key-secret", bad}, &err)) << bad;
  EXPECT_FALSE(Parse(
      {"--node", "n", "--config", "d", "--l2-key-file", "/k", "--l2-key-secret", "ns/name"}, &err))
      << "one key source";
  // A threshold of 1 would leave no room for the fence before the peers' takeover.
  EXPECT_FALSE(Parse({"--node", "n", "--config", "d", "--l2-threshold", "1"}, &err));
  EXPECT_NE(err.find("--l2-threshold"), std::string::npos) << err;
  EXPECT_FALSE(Parse({"--node", "n", "--config", "d", "--l2-interval-ms", "5"}, &err));
  EXPECT_FALSE(Parse({"--node", "n", "--config", "d", "--l2-port", "70000"}, &err));
}

TEST(AgentOptions, RolesAndRepeatableInterfaces) {
  std::string err;
  auto o = Parse({"--node", "n", "--config", "d", "--role", "speaker", "--interface", "eth0",
                  "--interface", "eth1", "--xdp-mode", "generic", "--nexthop-table", "off"},
                 &err);
  ASSERT_TRUE(o) << err;
  EXPECT_FALSE(o->want_controller);
  EXPECT_TRUE(o->want_speaker);
  EXPECT_EQ(o->interfaces, (std::vector<std::string>{"eth0", "eth1"}));
  EXPECT_EQ(o->xdp_mode, "generic");
  EXPECT_FALSE(o->nexthop_table);
}

TEST(AgentOptions, FlowCacheEntries) {
  std::string err;
  auto o = Parse({"--node", "n", "--config", "d"}, &err);
  ASSERT_TRUE(o) << err;
  EXPECT_EQ(o->flow_cache_entries, 131072u) << "on by default";
  o = Parse({"--node", "n", "--config", "d", "--flow-cache-entries", "0"}, &err);
  ASSERT_TRUE(o) << err;
  EXPECT_EQ(o->flow_cache_entries, 0u);
  EXPECT_FALSE(Parse({"--node", "n", "--config", "d", "--flow-cache-entries", "lots"}, &err));
  EXPECT_NE(err.find("--flow-cache-entries"), std::string::npos);
  EXPECT_NE(err.find("lots"), std::string::npos);
  EXPECT_FALSE(
      Parse({"--node", "n", "--config", "d", "--flow-cache-entries", "99999999999"}, &err));
}

TEST(AgentOptions, ErrorsNameTheFlag) {
  std::string err;
  EXPECT_FALSE(Parse({"--config", "d"}, &err));
  EXPECT_NE(err.find("--node"), std::string::npos);
  EXPECT_FALSE(Parse({"--node", "n", "--config", "d", "--role", "router"}, &err));
  EXPECT_NE(err.find("--role"), std::string::npos);
  EXPECT_NE(err.find("router"), std::string::npos);
  EXPECT_FALSE(Parse({"--node", "n", "--config", "d", "--interface"}, &err));
  EXPECT_NE(err.find("--interface needs a value"), std::string::npos);
  EXPECT_FALSE(Parse({"--node", "n", "--config", "d", "--nexthop-table", "5s"}, &err));
  EXPECT_NE(err.find("--nexthop-table"), std::string::npos);
  EXPECT_NE(err.find("5s"), std::string::npos);
  EXPECT_FALSE(Parse({"--node", "n", "--config", "d", "--bogus"}, &err));
  EXPECT_NE(err.find("--bogus"), std::string::npos);
  EXPECT_FALSE(Parse({"--node", "n"}, &err));
  EXPECT_NE(err.find("--config"), std::string::npos);
}

TEST(AgentOptions, ClusterModes) {
  std::string err;
  auto o = Parse({"--node", "n", "--kubeconfig", "/k", "--context", "prod", "--kube-qps", "20",
                  "--kube-burst", "40"},
                 &err);
  ASSERT_TRUE(o) << err;
  EXPECT_TRUE(o->cluster());
  EXPECT_EQ(o->kube_context, "prod");
  EXPECT_EQ(o->kube_qps, 20);
  EXPECT_EQ(o->kube_burst, 40);
  o = Parse({"--node", "n", "--in-cluster"}, &err);
  ASSERT_TRUE(o) << err;
  EXPECT_TRUE(o->in_cluster && o->cluster());
  EXPECT_EQ(o->kube_qps, 5);  // client-go's defaults
  EXPECT_EQ(o->kube_burst, 10);
  EXPECT_FALSE(Parse({"--node", "n", "--in-cluster", "--config", "d"}, &err));
  EXPECT_NE(err.find("exactly one"), std::string::npos);
  EXPECT_FALSE(Parse({"--node", "n", "--in-cluster", "--kube-qps", "fast"}, &err));
  EXPECT_NE(err.find("--kube-qps"), std::string::npos);
}

TEST(AgentOptions, MetricsTlsFlagsGoTogether) {
  std::string err;
  auto o = Parse({"--node", "n", "--config", "d", "--metrics-tls-cert", "c.pem",
                  "--metrics-tls-key", "k.pem", "--metrics-tls-client-ca", "ca.pem"},
                 &err);
  ASSERT_TRUE(o) << err;
  EXPECT_EQ(o->metrics_tls_cert, "c.pem");
  EXPECT_EQ(o->metrics_tls_key, "k.pem");
  EXPECT_EQ(o->metrics_tls_client_ca, "ca.pem");
  EXPECT_FALSE(Parse({"--node", "n", "--config", "d", "--metrics-tls-cert", "c.pem"}, &err));
  EXPECT_NE(err.find("--metrics-tls-key"), std::string::npos) << err;
  EXPECT_FALSE(Parse({"--node", "n", "--config", "d", "--metrics-tls-client-ca", "ca.pem"}, &err));
  EXPECT_NE(err.find("--metrics-tls-client-ca needs"), std::string::npos) << err;
}

TEST(AgentOptions, TcpMssClamp) {
  std::string err;
  auto o = Parse({"--node", "n", "--config", "d"}, &err);
  ASSERT_TRUE(o) << err;
  EXPECT_FALSE(o->tcp_mss_clamp_mtu) << "auto by default";
  o = Parse({"--node", "n", "--config", "d", "--tcp-mss-clamp", "off"}, &err);
  ASSERT_TRUE(o) << err;
  EXPECT_EQ(o->tcp_mss_clamp_mtu, 0u);
  o = Parse({"--node", "n", "--config", "d", "--tcp-mss-clamp", "9000"}, &err);
  ASSERT_TRUE(o) << err;
  EXPECT_EQ(o->tcp_mss_clamp_mtu, 9000u);
  for (const char* bad : {"100", "70000", "1500b", ""}) {
    EXPECT_FALSE(Parse({"--node", "n", "--config", "d", "--tcp-mss-clamp", bad}, &err)) << bad;
    EXPECT_NE(err.find("--tcp-mss-clamp"), std::string::npos) << err;
  }
}

TEST(AgentOptions, FlagEqualsValueIsTheSameAsTwoWords) {
  const char* argv[] = {
      "ironlb-agent", "--role=controller", "--node", "n1", "--config=/etc/a=b", "--=x", "-v=1"};
  const auto args = SplitFlagValues(7, argv);
  EXPECT_EQ(args, (std::vector<std::string>{"--role", "controller", "--node", "n1", "--config",
                                            "/etc/a=b", "--=x", "-v=1"}));
  std::string err;
  bool help = false;
  auto o = ParseAgentOptions({args.begin(), args.begin() + 6}, &err, &help);
  ASSERT_TRUE(o) << err;
  EXPECT_TRUE(o->want_controller);
  EXPECT_FALSE(o->want_speaker);
  EXPECT_EQ(o->config_dir, "/etc/a=b");
}

}  // namespace
}  // namespace ironlb
