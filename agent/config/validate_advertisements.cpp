// L2Advertisement and BGPAdvertisement rules. Names of pools and peers that do not exist are
// fine (MetalLB allows them: the pool or peer may come later).
#include <algorithm>

#include "config/validate_rules.h"
#include "model/community.h"

namespace ironlb::config {
namespace {

constexpr int kMinWeight = 1;  // MetalLB CRD limits of preferredNodeSelectors.weight
constexpr int kMaxWeight = 100;
constexpr int kIPv4Bits = 32;
constexpr int kIPv6Bits = 128;

// The widest (shortest) prefix among the CIDRs a range summarises to. As in MetalLB, an
// aggregation length is refused only when no CIDR of the range can be aggregated with it.
int WidestPrefix(const IPRange& r) {
  int widest = r.first.bits();
  for (const IPPrefix& p : r.ToPrefixes()) widest = std::min(widest, p.length);
  return widest;
}

bool Intersects(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::any_of(a.begin(), a.end(), [&](const std::string& x) {
    return std::find(b.begin(), b.end(), x) != b.end();
  });
}

// MetalLB's isAggrLengthDifferent: advertisements of different aggregation for every family the
// pool holds produce different routes, so their localPrefs cannot collide.
bool AggregationDiffers(const BGPAdvertisement& a, const BGPAdvertisement& b,
                        const IPAddressPool& pool) {
  bool v4 = false, v6 = false;
  for (const IPRange& r : pool.ranges) (r.family() == Family::kV4 ? v4 : v6) = true;
  if (!v4 && !v6) return true;
  const bool diff4 = a.aggregation_length != b.aggregation_length;
  const bool diff6 = a.aggregation_length_v6 != b.aggregation_length_v6;
  if (diff4 && !v6) return true;
  if (diff6 && !v4) return true;
  return diff4 && diff6;
}

}  // namespace

std::vector<const IPAddressPool*> PoolsOf(const std::vector<std::string>& names,
                                          const std::vector<LabelSelector>& selectors,
                                          const Config& accepted) {
  std::vector<const IPAddressPool*> out;
  const bool all = names.empty() && selectors.empty();
  for (const auto& [name, pool] : accepted.pools) {
    const bool named = std::find(names.begin(), names.end(), name) != names.end();
    const bool selected =
        std::any_of(selectors.begin(), selectors.end(),
                    [&](const LabelSelector& s) { return s.Matches(pool.meta.labels); });
    if (all || named || selected) out.push_back(&pool);
  }
  return out;
}

Errors CheckL2Advertisement(const L2Advertisement& adv) {
  ObjectErrors errs("L2Advertisement", adv.meta);
  CheckNoDuplicates(adv.ip_address_pools, "spec.ipAddressPools", "pool", &errs);
  CheckSelectors(adv.ip_address_pool_selectors, "spec.ipAddressPoolSelectors", &errs);
  CheckSelectors(adv.node_selectors, "spec.nodeSelectors", &errs);
  CheckSelectors(adv.service_selectors, "spec.serviceSelectors", &errs);
  CheckNoDuplicates(adv.interfaces, "spec.interfaces", "interface", &errs);
  for (size_t i = 0; i < adv.interfaces.size(); ++i) {
    if (adv.interfaces[i].empty()) {
      errs.Add("spec.interfaces[" + std::to_string(i) + "]", "empty interface name");
    }
  }
  for (size_t i = 0; i < adv.preferred_node_selectors.size(); ++i) {
    const auto& p = adv.preferred_node_selectors[i];
    const std::string path = "spec.preferredNodeSelectors[" + std::to_string(i) + "]";
    if (p.weight < kMinWeight || p.weight > kMaxWeight) {
      errs.Add(path + ".weight", std::to_string(p.weight) + " must be 1 to 100");
    }
    CheckSelector(p.preference, path + ".preference", &errs);
  }
  return errs.Take();
}

Errors CheckBGPAdvertisement(const BGPAdvertisement& adv, const RuleContext& ctx,
                             BGPAdvertisement* out) {
  ObjectErrors errs("BGPAdvertisement", adv.meta);
  if (out) out->resolved_communities.clear();
  CheckNoDuplicates(adv.ip_address_pools, "spec.ipAddressPools", "pool", &errs);
  CheckNoDuplicates(adv.communities, "spec.communities", "community", &errs);
  CheckNoDuplicates(adv.peers, "spec.peers", "peer", &errs);
  CheckSelectors(adv.ip_address_pool_selectors, "spec.ipAddressPoolSelectors", &errs);
  CheckSelectors(adv.node_selectors, "spec.nodeSelectors", &errs);
  CheckSelectors(adv.service_selectors, "spec.serviceSelectors", &errs);
  if (adv.aggregation_length < 1 || adv.aggregation_length > kIPv4Bits) {
    errs.Add("spec.aggregationLength",
             std::to_string(adv.aggregation_length) + " is not an IPv4 prefix length (1 to 32)");
  }
  if (adv.aggregation_length_v6 < 1 || adv.aggregation_length_v6 > kIPv6Bits) {
    errs.Add("spec.aggregationLengthV6", std::to_string(adv.aggregation_length_v6) +
                                             " is not an IPv6 prefix length (1 to 128)");
  }
  if (!adv.service_selectors.empty()) {
    // Aggregating merges Services, so selecting Services by label would be meaningless.
    if (adv.aggregation_length != kIPv4Bits) {
      errs.Add("spec.aggregationLength",
               "serviceSelectors can only be used with the default aggregationLength (32)");
    }
    if (adv.aggregation_length_v6 != kIPv6Bits) {
      errs.Add("spec.aggregationLengthV6",
               "serviceSelectors can only be used with the default aggregationLengthV6 (128)");
    }
  }
  for (size_t i = 0; i < adv.communities.size(); ++i) {
    const std::string& c = adv.communities[i];
    auto alias = ctx.accepted->community_aliases.find(c);
    std::string error;
    BGPCommunity parsed;
    if (alias != ctx.accepted->community_aliases.end()) {
      // Aliases were checked with their Community object; a bad one was not accepted.
      if (ParseCommunity(alias->second, &parsed, &error) == CommunityParse::kOk && out)
        out->resolved_communities.push_back(parsed);
      continue;
    }
    switch (ParseCommunity(c, &parsed, &error)) {
      case CommunityParse::kOk:
        if (out) out->resolved_communities.push_back(parsed);
        break;
      case CommunityParse::kBadValue:
        errs.Add("spec.communities[" + std::to_string(i) + "]", error);
        break;
      case CommunityParse::kBadFormat:
        errs.Add("spec.communities[" + std::to_string(i) + "]",
                 "\"" + c + "\" is neither a community (A:B or large:G:L1:L2) nor an alias " +
                     "defined by a Community object");
        break;
    }
  }
  return errs.Take();
}

Errors CheckBGPAdvertisementConflicts(const BGPAdvertisement& adv, const RuleContext& ctx) {
  ObjectErrors errs("BGPAdvertisement", adv.meta);
  const Config& acc = *ctx.accepted;
  const auto pools = PoolsOf(adv.ip_address_pools, adv.ip_address_pool_selectors, acc);
  for (const IPAddressPool* pool : pools) {
    for (size_t i = 0; i < pool->addresses.size(); ++i) {
      std::vector<IPRange> ranges;
      std::string ignored;
      if (!ParsePoolAddress(pool->addresses[i], &ranges, &ignored)) continue;
      for (const IPRange& r : ranges) {
        const bool v4 = r.family() == Family::kV4;
        const int length = v4 ? adv.aggregation_length : adv.aggregation_length_v6;
        const int widest = WidestPrefix(r);
        if (length < widest) {
          errs.Add(v4 ? "spec.aggregationLength" : "spec.aggregationLengthV6",
                   "aggregation length " + std::to_string(length) + " is shorter than /" +
                       std::to_string(widest) + ", the widest CIDR in \"" + pool->addresses[i] +
                       "\" of IPAddressPool " + pool->meta.name +
                       ": the aggregate would cover addresses outside the pool");
        }
      }
    }
  }
  if (!errs.empty()) return errs.Take();

  const std::set<std::string> my_nodes = SelectedNodes(*ctx.nodes, adv.node_selectors);
  for (const auto& [name, other] : acc.bgp_advertisements) {
    if (!adv.service_selectors.empty()) break;
    if (!other.service_selectors.empty() || other.local_pref == adv.local_pref) continue;
    if (!adv.peers.empty() && !other.peers.empty() && !Intersects(adv.peers, other.peers)) continue;
    const std::set<std::string> their_nodes = SelectedNodes(*ctx.nodes, other.node_selectors);
    const bool shared = std::any_of(my_nodes.begin(), my_nodes.end(),
                                    [&](const std::string& n) { return their_nodes.count(n) > 0; });
    if (!shared) continue;
    const auto other_pools = PoolsOf(other.ip_address_pools, other.ip_address_pool_selectors, acc);
    for (const IPAddressPool* pool : pools) {
      if (std::find(other_pools.begin(), other_pools.end(), pool) == other_pools.end()) continue;
      if (AggregationDiffers(adv, other, *pool)) continue;
      errs.Add("spec.localPref", "localPref " + std::to_string(adv.local_pref) +
                                     " conflicts with localPref " +
                                     std::to_string(other.local_pref) + " of BGPAdvertisement " +
                                     name + " for the same routes of IPAddressPool " +
                                     pool->meta.name + " (same aggregation, peers and nodes)");
      return errs.Take();
    }
  }

  for (const IPAddressPool* pool : pools) {
    const bool has_v6 = std::any_of(pool->ranges.begin(), pool->ranges.end(),
                                    [](const IPRange& r) { return r.family() == Family::kV6; });
    if (!has_v6) continue;
    for (const auto& [peer_name, peer] : acc.peers) {
      if (!adv.peers.empty() &&
          std::find(adv.peers.begin(), adv.peers.end(), peer_name) == adv.peers.end()) {
        continue;
      }
      auto bfd = acc.bfd_profiles.find(peer.bfd_profile);
      if (bfd == acc.bfd_profiles.end() || !bfd->second.echo_mode) continue;
      errs.Add("spec.peers", "announces IPv6 IPAddressPool " + pool->meta.name + " to BGPPeer " +
                                 peer_name + ", whose BFDProfile " + peer.bfd_profile +
                                 " uses echo mode; BFD echo cannot be used for IPv6 announcements");
      return errs.Take();
    }
  }
  return errs.Take();
}

}  // namespace ironlb::config
