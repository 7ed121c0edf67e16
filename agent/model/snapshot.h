// A snapshot of everything a store holds (unvalidated objects), the validated MetalLB
// configuration derived from it, and the errors that name file, object and field.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/objects.h"

namespace ironlb {

// One problem with one object. `field` is a path into the object ("spec.addresses[1]").
struct ConfigError {
  std::string file;  // source of the object; empty when not from a file
  ObjectRef object;  // kind/namespace/name; name may be empty for undecodable documents
  std::string field;
  std::string message;
  // "<file>: <Kind> <ns>/<name>: <field>: <message>", omitting the parts that are empty.
  std::string str() const {
    std::string s;
    if (!file.empty()) s += file + ": ";
    if (!object.kind.empty()) s += object.str() + ": ";
    if (!field.empty()) s += field + ": ";
    return s + message;
  }
  bool operator==(const ConfigError&) const = default;
};

// Everything read from a store (FileStore or KubeStore), not yet validated.
struct Snapshot {
  std::vector<IPAddressPool> pools;
  std::vector<L2Advertisement> l2_advertisements;
  std::vector<BGPAdvertisement> bgp_advertisements;
  std::vector<BGPPeer> peers;
  std::vector<BFDProfile> bfd_profiles;
  std::vector<Community> communities;
  std::vector<Service> services;
  std::vector<EndpointSlice> endpoint_slices;
  std::vector<Node> nodes;
  std::vector<Namespace> namespaces;
  std::vector<Secret> secrets;
  // Documents that could not be decoded at all (bad YAML, wrong field types, unknown fields).
  std::vector<ConfigError> decode_errors;
};

// The validated metallb.io configuration, keyed by object name. Only valid objects are here.
struct Config {
  std::map<std::string, IPAddressPool> pools;
  std::map<std::string, L2Advertisement> l2_advertisements;
  std::map<std::string, BGPAdvertisement> bgp_advertisements;
  std::map<std::string, BGPPeer> peers;
  std::map<std::string, BFDProfile> bfd_profiles;
  std::map<std::string, std::string> community_aliases;  // alias name -> value
  std::map<std::string, Community> communities;          // the Community objects in force
};

// Like MetalLB's ConfigurationState: valid, or the list of errors currently in force.
struct ConfigState {
  std::vector<ConfigError> errors;
  bool valid() const { return errors.empty(); }
};

}  // namespace ironlb
