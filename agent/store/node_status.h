// What a node reports about itself for MetalLB's status kinds: the Services it announces (per
// protocol, for ServiceL2Status / ServiceBGPStatus) and whether its configuration loaded (for
// ConfigurationState). Plain values; the store decides where they go.
#pragma once

#include <string>
#include <vector>

#include "model/objects.h"

namespace ironlb {

// One Service this node announces.
struct ServiceAnnouncement {
  std::string ns, name;  // the Service
  // L2: the interfaces it is answered on (empty: every interface the data plane runs on, as
  // MetalLB leaves `interfaces` empty for an L2Advertisement without any).
  std::vector<std::string> interfaces;
  // BGP: the BGPPeers it is advertised to (sorted), whether or not their sessions are up.
  std::vector<std::string> peers;
  // L2: every node owning one of the Service's addresses as this node sees it (itself included,
  // sorted). Another node's status for the Service is stale unless that node is listed: this is
  // how a node that died without cleaning up loses its ServiceL2Status to the new owner.
  std::vector<std::string> owners;
  std::string key() const { return ns + "/" + name; }
  bool operator==(const ServiceAnnouncement&) const = default;
};

// Everything `node` announces by one protocol now: always the whole set, so a store can write
// the difference and remove what is no longer announced (level-triggered, restart-safe).
struct NodeAnnouncements {
  enum class Protocol { kL2, kBgp };
  Protocol protocol = Protocol::kL2;
  std::string node;
  std::vector<ServiceAnnouncement> services;  // in a deterministic order, one per Service
  bool operator==(const NodeAnnouncements&) const = default;
};

// A component's view of the configuration after a validation pass.
struct ConfigReport {
  enum class Component { kController, kSpeaker };
  Component component = Component::kSpeaker;
  std::string node;
  // One line per error, each naming the source, the object and the field (ConfigError::str()).
  std::vector<std::string> errors;
  // False: this component no longer reports (a controller that lost its Lease); the object is
  // left to the one that does, never rewritten from a stale view.
  bool reporting = true;
  bool valid() const { return errors.empty(); }
  bool operator==(const ConfigReport&) const = default;
};

}  // namespace ironlb
