// Command-line options of ironlb-agent and their parsing; kept apart from the runtime so the
// parser is unit-testable and `--help` documents every flag in one place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ironlb {

struct AgentOptions {
  std::string node;
  std::string config_dir;    // standalone: directory of YAML (FileStore)
  std::string kubeconfig;    // cluster mode through a kubeconfig file
  bool in_cluster = false;   // cluster mode through the pod's service account
  std::string kube_context;  // kubeconfig context; empty: current-context
  double kube_qps = 5;       // client-side rate limit towards the API server (client-go's default)
  int kube_burst = 10;
  bool leader_elect = true;  // cluster mode: the controller allocates only while holding the Lease
  bool want_controller = true;
  bool want_speaker = true;
  std::vector<std::string> interfaces;
  std::string metrics_addr = "0.0.0.0:7472";
  std::string metrics_tls_cert, metrics_tls_key, metrics_tls_client_ca;  // empty: plain HTTP
  std::string api_socket = "/run/ironlb/agent.sock";
  std::string bpffs = "/sys/fs/bpf/ironlb";
  std::string ns = "ironlb-system";
  bool ns_explicit = false;
  std::string lb_class;
  std::string xdp_mode = "auto";              // native | generic | auto
  bool nexthop_table = true;                  // false: xdp_lb asks the FIB for every packet
  uint32_t flow_cache_entries = 131072;       // LB_FLOW_CACHE_DEFAULT_ENTRIES; 0: no flow cache
  std::optional<uint32_t> tcp_mss_clamp_mtu;  // --tcp-mss-clamp: nullopt auto, 0 off, else MTU
  bool no_dataplane = false;                  // control plane only (no XDP), e.g. BGP-only tests
  bool no_bgp = false;
  bool no_l2 = false;
  std::string l2_key_file;  // empty: no heartbeats (no failover)
  // NAMESPACE/NAME of a Secret whose `secretkey` holds the key (MetalLB's memberlist Secret).
  std::string l2_key_secret;
  uint16_t l2_port = 7473;
  uint32_t l2_interval_ms = 100;
  uint32_t l2_threshold = 3;
  std::string log_level = "info";
  uint32_t max_services = 0;  // data-plane map sizes; 0: compiled defaults
  uint32_t max_endpoints = 0;

  bool cluster() const { return !kubeconfig.empty() || in_cluster; }
};

extern const char* const kAgentUsage;

// argv without the program name, each `--flag=value` split into `--flag` `value`: the manifests
// write that form, as Kubernetes containers usually do, and every parser takes the two-word one.
std::vector<std::string> SplitFlagValues(int argc, const char* const* argv);

// Returns the options, or nullopt with `*error` set to a message that names the bad flag.
// `*help` is set when --help was asked for.
std::optional<AgentOptions> ParseAgentOptions(const std::vector<std::string>& args,
                                              std::string* error, bool* help);

}  // namespace ironlb
