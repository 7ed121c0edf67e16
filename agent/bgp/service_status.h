// What this node advertises by BGP, per Service, for MetalLB's ServiceBGPStatus: the BGPPeers
// whose routes cover one of the Service's addresses (a /32, /128 or an aggregate). Pure.
#pragma once

#include <string>

#include "bgp/announcements.h"
#include "model/model.h"
#include "store/node_status.h"

namespace ironlb::bgp {

// One entry per LoadBalancer Service of `model` advertised to at least one peer of `ann`, with
// those peers' names (sorted). As MetalLB, what is configured counts, not whether the session
// is up.
NodeAnnouncements ServiceAnnouncements(const Model& model, const Announcements& ann,
                                       const std::string& node);

}  // namespace ironlb::bgp
