// The L2 speaker's view of the model, computed once per reconcile pass: for each VIP an
// L2Advertisement covers, the nodes eligible to answer for it and the interfaces this node would
// answer on; and every peer's addresses for heartbeats. Pure: no I/O.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/ip.h"
#include "model/model.h"

namespace ironlb::l2 {

struct VipPlan {
  IPAddr vip;
  std::vector<ObjectRef> services;    // the Services holding the VIP (shared VIPs: several)
  std::vector<std::string> eligible;  // sorted node names
  // The interfaces the advertisements selecting this node name; empty: every interface the
  // XDP program runs on.
  std::vector<std::string> interfaces;
  bool operator==(const VipPlan&) const = default;
};

struct Plan {
  std::vector<VipPlan> vips;                         // sorted by VIP
  std::map<std::string, std::vector<IPAddr>> peers;  // every other node -> its addresses
  bool operator==(const Plan&) const = default;
};

// Eligibility per VIP follows MetalLB: the pools containing the VIP, the L2Advertisements
// selecting those pools (ipAddressPools / ipAddressPoolSelectors; neither = all), their
// nodeSelectors, nodes that may announce at all (Model::NodeMayAnnounce), and for
// externalTrafficPolicy Local only nodes with a ready endpoint of that Service.
Plan ComputePlan(const Model& model, const std::string& self);

// A Node's addresses heartbeats come from: InternalIP first, then ExternalIP, parsed.
std::vector<IPAddr> NodeAddresses(const Node& n);

}  // namespace ironlb::l2
