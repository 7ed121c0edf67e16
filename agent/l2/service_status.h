// What this node announces by L2, per Service, for MetalLB's ServiceL2Status: derived from the
// election's result (which node owns which VIP, for which Services, on which interfaces). Pure.
#pragma once

#include <string>
#include <vector>

#include "l2/election.h"
#include "store/node_status.h"

namespace ironlb::l2 {

// One entry per Service holding a VIP `node` owns, with the interfaces it is answered on (empty
// when any of its owned VIPs is answered on every interface) and every node owning one of the
// Service's VIPs (a dual-stack Service may have two owners: per-VIP election).
NodeAnnouncements ServiceAnnouncements(const std::vector<Ownership>& owners,
                                       const std::string& node);

}  // namespace ironlb::l2
