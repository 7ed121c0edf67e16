// What this node announces to which BGP peer, by MetalLB's rules, as a pure function of the
// validated configuration and the object snapshot. The speaker diffs successive results.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "bgp/codec_attributes.h"
#include "model/ip.h"
#include "model/model.h"

namespace ironlb::bgp {

struct RouteAttrs {
  uint32_t local_pref = 0;  // 0: none (eBGP) or the default for iBGP
  std::set<uint32_t> communities;
  std::set<LargeCommunity> large_communities;
  auto operator<=>(const RouteAttrs&) const = default;
};

using PeerRoutes = std::map<IPPrefix, RouteAttrs>;

struct Announcements {
  // Every BGPPeer selected for this node (by its nodeSelectors), even with no routes.
  std::map<std::string, PeerRoutes> by_peer;
  bool operator==(const Announcements&) const = default;
};

// The node's labels come from Model::NodeLabels (the one rule the data plane's L2 decisions use
// too); communities are the advertisement's resolved_communities, parsed by validation.
Announcements ComputeAnnouncements(const Model& model, const std::string& node);
// iBGP by configuration: same ASN, or dynamicASN internal.
bool IsInternal(const BGPPeer& p);

}  // namespace ironlb::bgp
