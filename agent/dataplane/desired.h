// The data plane's desired state as a pure function of the model: which VIP:port/proto exist,
// their endpoints (ready ones in the Maglev table, terminating ones kept only for live flows),
// No I/O; the Dataplane applies it by diff. (Who answers ARP/NDP is the L2 speaker's, agent/l2/.)
#pragma once

#include <cstdint>
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
};

const char* ProtoName(Proto p);
std::string VipKey(const IPAddr& vip, uint16_t port, Proto proto);

// Services of type LoadBalancer with the addresses they hold (Model::Ingress) and their
// EndpointSlices, as `node` serves them.
DesiredDataplane ComputeDesired(const Model& model, const std::string& node);

}  // namespace ironlb::dataplane
