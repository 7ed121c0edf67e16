#include "runtime/options.h"

#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace ironlb {

const char* const kAgentUsage =
    R"(usage: ironlb-agent --node NAME (--config DIR | --kubeconfig FILE | --in-cluster) [options]

  --node NAME            this node's name (matches Node objects and EndpointSlice nodeName)
  --config DIR           standalone mode: read every *.yaml in DIR and watch it; assignments
                         are written to DIR/status/ (the API server's part)
  --kubeconfig FILE      cluster mode: the API server and credentials of FILE's current context
  --context NAME         with --kubeconfig: use this context instead of the current one
  --in-cluster           cluster mode from the pod's service account (KUBERNETES_SERVICE_HOST)
  --kube-qps N           requests per second to the API server (default 5; 0: unlimited)
  --kube-burst N         requests allowed at once above that rate (default 10)
  --no-leader-elect      cluster mode: allocate without holding the Lease (only with a single
                         controller replica; by default the controller role allocates only
                         while it holds the Lease NS/ironlb-controller)
  --role ROLE            controller | speaker | all (default all)
  --interface IFACE      uplink to attach XDP to and announce on (repeatable)
  --xdp-mode MODE        native | generic | auto (default auto: generic on a veth, where native
                         mode's transmitted frames need XDP or GRO on the peer; else native, else
                         generic with a warning)
  --bpffs DIR            where maps are pinned (default /sys/fs/bpf/ironlb)
  --nexthop-table on|off  on (default): XDP takes each endpoint's next hop from a table the agent
                         keeps current from netlink route and neighbour events; off: XDP asks
                         the kernel's FIB per packet; see docs/benchmarks-dataplane.md
  --flow-cache-entries N  IPv4 flows XDP keeps in a per-CPU cache in front of conntrack, all CPUs
                         together (default 131072, 4 MiB; 0 turns it off): an established flow
                         then costs one cache line instead of a hash lookup
  --tcp-mss-clamp MODE   auto | off | an MTU: VIP flows' SYN-ACKs announce at most the MSS that
                         fits the tunnel to other nodes (auto: from the uplink's MTU; default)
  --metrics-addr ADDR    Prometheus endpoint host:port (default 0.0.0.0:7472; "" disables)
  --metrics-tls-cert FILE  serve the metrics endpoint over HTTPS with this PEM certificate
                         (chain after the leaf); needs --metrics-tls-key. Both are read again
                         when they change on disk (cert-manager rotation)
  --metrics-tls-key FILE   the certificate's PEM private key
  --metrics-tls-client-ca FILE  with TLS: accept only clients whose certificate this PEM CA
                         bundle signed (mutual TLS)
  --api-socket PATH      local API for ironlbctl (default /run/ironlb/agent.sock)
  --namespace NS         namespace of the metallb.io objects (default ironlb-system; in
                         standalone mode objects in any namespace are accepted unless set)
  --lb-class CLASS       only handle Services with this spec.loadBalancerClass (default: none)
  --max-services N       data-plane capacity in VIP:port/protocol entries (default 16384)
  --max-endpoints N      data-plane capacity in distinct endpoints (default 131072); Services
                         beyond either limit are refused one by one (logged, counted, an event)
                         and served once room appears
  --no-dataplane         do not load XDP (control plane and BGP only)
  --no-bgp               do not run the BGP speaker
  --no-l2                do not run the L2 speaker (no ARP/NDP answers, no heartbeats)
  --l2-key-file FILE     shared key (>= 16 bytes) sealing L2 heartbeats with HMAC-SHA256; the
                         same on every node. Without it there are no heartbeats and no failover
  --l2-key-secret NS/NAME  the same key from the `secretkey` field of a Secret (MetalLB's
                         `memberlist`), followed live: a new key is used at once and the previous
                         one still accepted for 60 s, so nodes can pick up a rotation one by one.
                         The controller role creates the Secret with a random key when missing
  --l2-port PORT         UDP port of the L2 heartbeats (default 7473)
  --l2-interval-ms MS    heartbeat interval (default 100)
  --l2-threshold N       missed heartbeats before a node is dead (default 3, at least 2): a dead
                         or hung node loses its VIPs after MS x N, and stops answering itself
                         after MS x (N - 1)
  --log-level LEVEL      debug | info | warn | error (default info)
)";

std::vector<std::string> SplitFlagValues(int argc, const char* const* argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto eq = a.find('=');
    // "--=x" and a lone "-x=y" are left alone so the parser names them as unknown.
    if (a.rfind("--", 0) == 0 && eq != std::string::npos && eq > 2) {
      args.push_back(a.substr(0, eq));
      args.push_back(a.substr(eq + 1));
    } else {
      args.push_back(a);
    }
  }
  return args;
}

std::optional<AgentOptions> ParseAgentOptions(const std::vector<std::string>& args,
                                              std::string* error, bool* help) {
  AgentOptions o;
  *help = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* into) {
      if (i + 1 >= args.size()) {
        *error = a + " needs a value";
        return false;
      }
      *into = args[++i];
      return true;
    };
    // The flag's value as a whole decimal number in [lo, hi]; the caller words the error.
    auto number = [&](const std::string& v, uint32_t lo, uint32_t hi, uint32_t* n) {
      auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), *n);
      return ec == std::errc() && ptr == v.data() + v.size() && *n >= lo && *n <= hi;
    };
    std::string role;
    if (a == "-h" || a == "--help") {
      *help = true;
      return o;
    } else if (a == "--node") {
      if (!value(&o.node)) return std::nullopt;
    } else if (a == "--config") {
      if (!value(&o.config_dir)) return std::nullopt;
    } else if (a == "--kubeconfig") {
      if (!value(&o.kubeconfig)) return std::nullopt;
    } else if (a == "--context") {
      if (!value(&o.kube_context)) return std::nullopt;
    } else if (a == "--in-cluster") {
      o.in_cluster = true;
    } else if (a == "--no-leader-elect") {
      o.leader_elect = false;
    } else if (a == "--kube-qps" || a == "--kube-burst") {
      std::string v;
      if (!value(&v)) return std::nullopt;
      try {
        size_t used = 0;
        const double n = std::stod(v, &used);
        if (used != v.size() || n < 0) throw std::invalid_argument(v);
        if (a == "--kube-qps") {
          o.kube_qps = n;
        } else {
          o.kube_burst = static_cast<int>(n);
        }
      } catch (const std::exception&) {
        *error = a + " must be a non-negative number, not '" + v + "'";
        return std::nullopt;
      }
    } else if (a == "--role") {
      if (!value(&role)) return std::nullopt;
      if (role == "controller") {
        o.want_controller = true, o.want_speaker = false;
      } else if (role == "speaker") {
        o.want_controller = false, o.want_speaker = true;
      } else if (role == "all") {
        o.want_controller = o.want_speaker = true;
      } else {
        *error = "--role must be controller, speaker or all, not '" + role + "'";
        return std::nullopt;
      }
    } else if (a == "--interface") {
      std::string ifc;
      if (!value(&ifc)) return std::nullopt;
      o.interfaces.push_back(ifc);
    } else if (a == "--xdp-mode") {
      if (!value(&o.xdp_mode)) return std::nullopt;
      if (o.xdp_mode != "native" && o.xdp_mode != "generic" && o.xdp_mode != "auto") {
        *error = "--xdp-mode must be native, generic or auto, not '" + o.xdp_mode + "'";
        return std::nullopt;
      }
    } else if (a == "--nexthop-table") {
      std::string v;
      if (!value(&v)) return std::nullopt;
      if (v != "on" && v != "off") {
        *error = "--nexthop-table must be on or off, not '" + v + "'";
        return std::nullopt;
      }
      o.nexthop_table = v == "on";
    } else if (a == "--tcp-mss-clamp") {
      std::string m;
      if (!value(&m)) return std::nullopt;
      char* end = nullptr;
      const unsigned long v = std::strtoul(m.c_str(), &end, 10);
      if (m == "auto") {
        o.tcp_mss_clamp_mtu.reset();
      } else if (m == "off") {
        o.tcp_mss_clamp_mtu = 0;
      } else if (m.empty() || *end != '\0' || v < 576 || v > 65535) {
        *error = "--tcp-mss-clamp must be auto, off or an MTU from 576 to 65535, not '" + m + "'";
        return std::nullopt;
      } else {
        o.tcp_mss_clamp_mtu = static_cast<uint32_t>(v);
      }
    } else if (a == "--bpffs") {
      if (!value(&o.bpffs)) return std::nullopt;
    } else if (a == "--metrics-addr") {
      if (!value(&o.metrics_addr)) return std::nullopt;
    } else if (a == "--metrics-tls-cert") {
      if (!value(&o.metrics_tls_cert)) return std::nullopt;
    } else if (a == "--metrics-tls-key") {
      if (!value(&o.metrics_tls_key)) return std::nullopt;
    } else if (a == "--metrics-tls-client-ca") {
      if (!value(&o.metrics_tls_client_ca)) return std::nullopt;
    } else if (a == "--api-socket") {
      if (!value(&o.api_socket)) return std::nullopt;
    } else if (a == "--namespace") {
      if (!value(&o.ns)) return std::nullopt;
      o.ns_explicit = true;
    } else if (a == "--lb-class") {
      if (!value(&o.lb_class)) return std::nullopt;
    } else if (a == "--flow-cache-entries") {
      std::string v;
      if (!value(&v)) return std::nullopt;
      uint32_t n = 0;
      if (!number(v, 0, 1u << 26, &n)) {
        *error = "--flow-cache-entries must be a number between 0 and 67108864, not '" + v + "'";
        return std::nullopt;
      }
      o.flow_cache_entries = n;
    } else if (a == "--max-services" || a == "--max-endpoints") {
      std::string v;
      if (!value(&v)) return std::nullopt;
      uint32_t n = 0;
      if (!number(v, 16, 1u << 24, &n)) {
        *error = a + " must be a number between 16 and 16777216, not '" + v + "'";
        return std::nullopt;
      }
      (a == "--max-services" ? o.max_services : o.max_endpoints) = n;
    } else if (a == "--no-dataplane") {
      o.no_dataplane = true;
    } else if (a == "--no-bgp") {
      o.no_bgp = true;
    } else if (a == "--no-l2") {
      o.no_l2 = true;
    } else if (a == "--l2-key-file") {
      if (!value(&o.l2_key_file)) return std::nullopt;
    } else if (a == "--l2-key-secret") {
      if (!value(&o.l2_key_secret)) return std::nullopt;
      const auto slash = o.l2_key_secret.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == o.l2_key_secret.size() ||
          o.l2_key_secret.find('/', slash + 1) != std::string::npos) {
        *error = "--l2-key-secret must be NAMESPACE/NAME, not '" + o.l2_key_secret + "'";
        return std::nullopt;
      }
    } else if (a == "--l2-port" || a == "--l2-interval-ms" || a == "--l2-threshold") {
      std::string v;
      if (!value(&v)) return std::nullopt;
      uint32_t n = 0;
      const uint32_t lo = a == "--l2-threshold" ? 2 : a == "--l2-interval-ms" ? 10 : 1;
      const uint32_t hi = a == "--l2-port" ? 65535 : a == "--l2-threshold" ? 100 : 60000;
      if (!number(v, lo, hi, &n)) {
        *error = a + " must be a number from " + std::to_string(lo) + " to " + std::to_string(hi) +
                 ", not '" + v + "'";
        return std::nullopt;
      }
      if (a == "--l2-port") o.l2_port = static_cast<uint16_t>(n);
      if (a == "--l2-interval-ms") o.l2_interval_ms = n;
      if (a == "--l2-threshold") o.l2_threshold = n;
    } else if (a == "--log-level") {
      if (!value(&o.log_level)) return std::nullopt;
    } else {
      *error = "unknown argument '" + a + "'";
      return std::nullopt;
    }
  }
  if (!o.l2_key_file.empty() && !o.l2_key_secret.empty()) {
    *error = "--l2-key-file and --l2-key-secret exclude each other";
    return std::nullopt;
  }
  if (o.metrics_tls_cert.empty() != o.metrics_tls_key.empty()) {
    *error = "--metrics-tls-cert and --metrics-tls-key go together";
    return std::nullopt;
  }
  if (!o.metrics_tls_client_ca.empty() && o.metrics_tls_cert.empty()) {
    *error = "--metrics-tls-client-ca needs --metrics-tls-cert and --metrics-tls-key";
    return std::nullopt;
  }
  if (o.node.empty()) {
    *error = "--node is required";
    return std::nullopt;
  }
  const int sources = !o.config_dir.empty() + !o.kubeconfig.empty() + o.in_cluster;
  if (sources != 1) {
    *error =
        "exactly one of --config DIR (standalone), --kubeconfig FILE or --in-cluster "
        "(cluster) is required";
    return std::nullopt;
  }
  return o;
}

}  // namespace ironlb
