// The data plane's desired state as a pure function of the model: which VIP:port/proto exist,
// their endpoints (ready ones in the Maglev table, terminating ones kept only for live flows),
// No I/O; the Dataplane applies it by diff. (Who answers ARP/NDP is the L2 speaker's, agent/l2/.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/maglev.h"
#include "model/ip.h"
#include "model/model.h"

namespace ironlb::dataplane {

enum class Proto : uint8_t { kTCP = 6, kUDP = 17 };

struct DesiredBackend {
  IPAddr addr;
  uint16_t port = 0;
  bool draining = false;  // terminating: keeps its live flows, gets no new ones
  uint32_t weight = 1;
  // The address of the endpoint's node when that is another node: flows are encapsulated there.
  // Unset for this node's endpoints, and for endpoints whose node is unknown or has no address
  // of the family (then they are DNAT'ed and routed from here, as on one node).
  std::optional<IPAddr> tunnel;
  // Identity every node spells alike: "10.1.0.5:8080/TCP", "[fd00::5]:8080/TCP".
  std::string id(Proto proto) const;
  auto operator<=>(const DesiredBackend&) const = default;
};

struct DesiredService {
  ObjectRef service;  // the Service it comes from (for events about it)
  std::string name;   // "ns/name:portname" for logs and ironlbctl
  IPAddr vip;
  uint16_t port = 0;
  Proto proto = Proto::kTCP;
  std::vector<DesiredBackend> backends;  // all endpoints, ready and draining, sorted
  std::string key() const;               // "198.51.100.10:80/TCP"
  // The Maglev table over the ready backends. Derived, not stored: a table is ~4 KiB per
  // Service, so it is built only when the map sync finds the ready set changed.
  maglev::Table BuildTable() const;
};

struct DesiredDataplane {
  std::vector<DesiredService> services;  // sorted by VIP, port, protocol; one per key()
  // This node's own addresses (its Node object's), the outer source of encapsulated flows and
  // the destination other nodes encapsulate to. Without one, endpoints elsewhere are routed.
  std::optional<IPAddr> node_v4, node_v6;
};

const char* ProtoName(Proto p);
// The address other nodes reach `node` at for `family`: its first InternalIP of the family, else
// its first ExternalIP; nullopt without a Node object or such an address.
std::optional<IPAddr> NodeAddressFor(const Model& model, const std::string& node, Family family);
std::string VipKey(const IPAddr& vip, uint16_t port, Proto proto);

// Services of type LoadBalancer with the addresses they hold (Model::Ingress) and their
// EndpointSlices (an endpoint's nodeName and that Node's addresses say where it is), as `node`
// serves them. Layer 2 answering is the L2 speaker's (agent/l2/).
DesiredDataplane ComputeDesired(const Model& model, const std::string& node);

}  // namespace ironlb::dataplane
