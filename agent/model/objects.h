// The objects ironlb reads, as plain structs: MetalLB's metallb.io kinds and the core
// Kubernetes kinds it needs. Decoders fill them; everything downstream reads only these.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/community.h"
#include "model/compact_string.h"
#include "model/ip.h"
#include "model/selector.h"

namespace ironlb {

// Kind/namespace/name: how errors, logs and status name an object.
struct ObjectRef {
  std::string kind;
  std::string ns;
  std::string name;
  std::string str() const { return kind + " " + (ns.empty() ? name : ns + "/" + name); }
  auto operator<=>(const ObjectRef&) const = default;
};

struct ObjectMeta {
  std::string api_version;  // as written, e.g. "metallb.io/v1beta2"
  std::string ns;
  std::string name;
  Labels labels;
  Labels annotations;
  std::string resource_version;
  std::string uid;
  std::string source;  // where it came from: "dir/file.yaml" (FileStore) or "api" (KubeStore)
};

using Duration = std::chrono::milliseconds;

// ---- metallb.io -----------------------------------------------------------

struct ServiceAllocation {
  int priority = 0;  // lower wins; 0 (unset) sorts after every set priority, as in MetalLB
  std::vector<std::string> namespaces;
  std::vector<LabelSelector> namespace_selectors;
  std::vector<LabelSelector> service_selectors;
};

struct IPAddressPool {
  ObjectMeta meta;
  std::vector<std::string> addresses;  // as written
  bool auto_assign = true;
  bool avoid_buggy_ips = false;
  std::optional<ServiceAllocation> service_allocation;
  // Filled by validation: the parsed addresses in the order written (ranges kept as
  // ranges; a CIDR is one range).
  std::vector<IPRange> ranges;
};

struct PreferredNodeSelector {
  int weight = 0;  // 1-100
  LabelSelector preference;
};

struct L2Advertisement {
  ObjectMeta meta;
  std::vector<std::string> ip_address_pools;
  std::vector<LabelSelector> ip_address_pool_selectors;
  std::vector<LabelSelector> node_selectors;
  std::vector<std::string> interfaces;
  std::vector<PreferredNodeSelector> preferred_node_selectors;
  std::vector<LabelSelector> service_selectors;  // newer MetalLB
};

struct BGPAdvertisement {
  ObjectMeta meta;
  int aggregation_length = 32;
  int aggregation_length_v6 = 128;
  bool aggregation_length_set = false;  // written explicitly (serviceSelectors rule)
  bool aggregation_length_v6_set = false;
  uint32_t local_pref = 0;               // 0 = not set
  std::vector<std::string> communities;  // literals "A:B", "large:G:L1:L2", or alias names
  std::vector<std::string> ip_address_pools;
  std::vector<LabelSelector> ip_address_pool_selectors;
  std::vector<LabelSelector> node_selectors;
  std::vector<std::string> peers;
  std::vector<LabelSelector> service_selectors;  // newer MetalLB
  // Filled by validation: `communities` with aliases resolved, parsed once.
  std::vector<BGPCommunity> resolved_communities;
};

struct SecretRef {
  std::string name;
  std::string ns;
  bool empty() const { return name.empty() && ns.empty(); }
};

struct BGPPeer {
  ObjectMeta meta;
  uint32_t my_asn = 0;
  uint32_t peer_asn = 0;
  std::string dynamic_asn;  // "", "internal", "external"
  uint32_t local_asn = 0;   // 0 = not set; FRR "local-as ASN no-prepend replace-as"
  std::string peer_address;
  std::string interface;  // unnumbered BGP
  std::string source_address;
  uint16_t peer_port = 179;
  std::optional<Duration> hold_time;       // unset -> 90s (or 3 x keepalive)
  std::optional<Duration> keepalive_time;  // unset -> hold / 3
  std::optional<Duration> connect_time;
  std::string router_id;
  std::vector<LabelSelector> node_selectors;
  std::string password;
  SecretRef password_secret;
  std::string bfd_profile;
  bool enable_graceful_restart = false;
  bool ebgp_multihop = false;
  std::string vrf;
  bool disable_mp = false;
  bool dual_stack_address_family = false;
  // Filled by validation / secret resolution.
  std::optional<IPAddr> address;
  std::string resolved_password;
};

struct BFDProfile {
  ObjectMeta meta;
  uint32_t receive_interval_ms = 300;
  uint32_t transmit_interval_ms = 300;
  uint32_t detect_multiplier = 3;
  uint32_t echo_interval_ms = 50;
  bool echo_mode = false;
  bool passive_mode = false;
  uint32_t minimum_ttl = 254;
};

struct CommunityAlias {
  std::string name;
  std::string value;
};

struct Community {
  ObjectMeta meta;
  std::vector<CommunityAlias> communities;
};

// ---- core Kubernetes --------------------------------------------------------

struct ServicePort {
  std::string name;
  std::string protocol = "TCP";  // TCP, UDP, SCTP
  uint16_t port = 0;
  std::string target_port;  // number or named port, as written
  uint16_t node_port = 0;
};

struct LoadBalancerIngress {
  std::optional<IPAddr> ip;  // parsed at decoding; unset for a hostname-only entry
  std::string hostname;
  std::string ip_mode;  // "VIP" / "Proxy" / ""
};

struct Service {
  ObjectMeta meta;
  std::string type = "ClusterIP";
  std::vector<ServicePort> ports;
  Labels selector;
  std::string cluster_ip;
  std::string load_balancer_ip;  // deprecated spec.loadBalancerIP
  std::string load_balancer_class;
  std::string external_traffic_policy = "Cluster";  // "Cluster" | "Local"
  std::vector<std::string> ip_families;             // "IPv4" / "IPv6", in order
  std::string ip_family_policy;  // SingleStack | PreferDualStack | RequireDualStack | ""
  std::vector<LoadBalancerIngress> ingress;  // status.loadBalancer.ingress

  ObjectRef ref() const { return {"Service", meta.ns, meta.name}; }
  std::string key() const { return meta.ns + "/" + meta.name; }
};

struct EndpointConditions {
  std::optional<bool> ready;  // unset means ready (Kubernetes API convention)
  std::optional<bool> serving;
  std::optional<bool> terminating;
};

struct Endpoint {
  std::vector<std::string> addresses;
  EndpointConditions conditions;
  std::string node_name;
  // Read by nothing in the agent yet and usually empty: 8 bytes each, not 32, at 100,000
  // endpoints.
  CompactString zone;
  CompactString hostname;
};

struct EndpointPort {
  std::string name;
  std::string protocol = "TCP";
  uint16_t port = 0;
};

struct EndpointSlice {
  ObjectMeta meta;
  std::string address_type;  // IPv4 | IPv6 | FQDN
  std::vector<Endpoint> endpoints;
  std::vector<EndpointPort> ports;
  // The owning Service, from label kubernetes.io/service-name.
  std::string service_name() const {
    auto it = meta.labels.find("kubernetes.io/service-name");
    return it == meta.labels.end() ? "" : it->second;
  }
};

struct NodeAddress {
  std::string type;  // InternalIP, ExternalIP, Hostname
  std::string address;
};

struct Node {
  ObjectMeta meta;
  std::vector<NodeAddress> addresses;
  bool unschedulable = false;
  std::optional<bool> ready;                // condition Ready
  std::optional<bool> network_unavailable;  // condition NetworkUnavailable
};

struct Namespace {
  ObjectMeta meta;
};

struct Secret {
  ObjectMeta meta;
  std::string type;
  std::map<std::string, std::string> data;  // base64-decoded
};

// The legacy ConfigMap (metallb's `config` key) is decoded into the objects above.
struct ConfigMap {
  ObjectMeta meta;
  std::map<std::string, std::string> data;
};

// ---- annotations -------------------------------------------------------------

inline constexpr const char* kAnnotationPrefixes[] = {"metallb.io/", "metallb.universe.tf/"};

// Reads a MetalLB annotation under either prefix; the current prefix wins.
inline std::optional<std::string> MetalLBAnnotation(const ObjectMeta& m, const std::string& name) {
  for (const char* p : kAnnotationPrefixes) {
    auto it = m.annotations.find(std::string(p) + name);
    if (it != m.annotations.end()) return it->second;
  }
  return std::nullopt;
}

}  // namespace ironlb
