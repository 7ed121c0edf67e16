// Per-VIP owner election by rendezvous (highest-random-weight) hashing over the healthy eligible
// nodes. Every speaker with the same plan and the same view of health names the same owner; a
// node's failure moves only the VIPs it owned, and VIPs spread evenly over nodes. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "l2/plan.h"

namespace ironlb::l2 {

// The node's weight for the VIP: a 64-bit hash of (node name, VIP bytes), identical on every
// platform and build (no std::hash).
uint64_t RendezvousScore(const std::string& node, const IPAddr& vip);

// The eligible, healthy node with the highest score (ties: the smaller name); nullopt when none.
std::optional<std::string> ElectOwner(const IPAddr& vip, const std::vector<std::string>& eligible,
                                      const std::set<std::string>& healthy);

struct Ownership {
  IPAddr vip;
  std::optional<std::string> owner;
  std::vector<ObjectRef> services;
  std::vector<std::string> interfaces;  // where this node answers when it owns (empty: all)
  bool operator==(const Ownership&) const = default;
};

std::vector<Ownership> Elect(const Plan& plan, const std::set<std::string>& healthy);

}  // namespace ironlb::l2
