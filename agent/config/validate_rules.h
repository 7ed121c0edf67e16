// The rules behind Validate, one function per object kind, each returning the errors of one
// object. Self checks see only the context they are given; cross checks see the objects already
// accepted, so the later object of a conflicting pair is the one rejected.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "model/snapshot.h"

namespace ironlb::config {

using Errors = std::vector<ConfigError>;

// Collects the errors of one object, naming its file and identity.
class ObjectErrors {
 public:
  ObjectErrors(const char* kind, const ObjectMeta& meta) : kind_(kind), meta_(meta) {}
  void Add(std::string field, std::string message) {
    errors_.push_back(ConfigError{meta_.source, ObjectRef{kind_, meta_.ns, meta_.name},
                                  std::move(field), std::move(message)});
  }
  bool empty() const { return errors_.empty(); }
  Errors Take() { return std::move(errors_); }

 private:
  const char* kind_;
  const ObjectMeta& meta_;
  Errors errors_;
};

// What the object rules may consult besides the object itself.
struct RuleContext {
  const std::vector<Node>* nodes = nullptr;
  const std::vector<Namespace>* namespaces = nullptr;
  const std::vector<Secret>* secrets = nullptr;
  const Config* accepted = nullptr;  // objects accepted so far in this pass
};

// ---- selectors (validate_selectors.cpp) ----
// metav1.LabelSelectorAsSelector's rules plus MetalLB's duplicate rules for a list of selectors.
void CheckSelectors(const std::vector<LabelSelector>& selectors, const std::string& path,
                    ObjectErrors* errs);
void CheckSelector(const LabelSelector& s, const std::string& path, ObjectErrors* errs);
// MetalLB's "duplicate definition of X" for lists of names.
void CheckNoDuplicates(const std::vector<std::string>& values, const std::string& path,
                       const char* what, ObjectErrors* errs);
// Names of the nodes any selector matches (all nodes for an empty list).
std::set<std::string> SelectedNodes(const std::vector<Node>& nodes,
                                    const std::vector<LabelSelector>& selectors);

// ---- pools (validate_pools.cpp) ----
// Parses one spec.addresses entry as MetalLB does: a CIDR (not trimmed, host bits allowed) or a
// range "a-b" (ends trimmed). A range with ends of different families yields no range, as in
// MetalLB. Returns false with *error set when the entry is malformed.
bool ParsePoolAddress(const std::string& text, std::vector<IPRange>* out, std::string* error);
// Self checks; fills out->ranges.
Errors CheckPool(const IPAddressPool& pool, const RuleContext& ctx, IPAddressPool* out);
// Overlap with pools already accepted.
Errors CheckPoolConflicts(const IPAddressPool& pool, const RuleContext& ctx);

// ---- BGP peers and BFD profiles (validate_bgp.cpp) ----
Errors CheckBFDProfile(const BFDProfile& profile);
// Self checks (needs ctx.accepted->bfd_profiles and ctx.secrets); fills address and password.
Errors CheckPeer(const BGPPeer& peer, const RuleContext& ctx, BGPPeer* out);
// FRR's rules for peers that share a node, against the peers already accepted.
Errors CheckPeerConflicts(const BGPPeer& peer, const RuleContext& ctx);

// ---- communities (validate_communities.cpp) ----
Errors CheckCommunity(const Community& c, const RuleContext& ctx);

// ---- advertisements (validate_advertisements.cpp) ----
Errors CheckL2Advertisement(const L2Advertisement& adv);
// Self checks; community aliases resolve against ctx.accepted->community_aliases. Fills
// out->resolved_communities (when out is given) with every community parsed.
Errors CheckBGPAdvertisement(const BGPAdvertisement& adv, const RuleContext& ctx,
                             BGPAdvertisement* out = nullptr);
// Aggregation lengths vs the pools it selects, localPref conflicts with the advertisements
// already accepted, BFD echo towards IPv6 pools.
Errors CheckBGPAdvertisementConflicts(const BGPAdvertisement& adv, const RuleContext& ctx);
// The accepted pools an advertisement applies to (all when it names none).
std::vector<const IPAddressPool*> PoolsOf(const std::vector<std::string>& names,
                                          const std::vector<LabelSelector>& selectors,
                                          const Config& accepted);

}  // namespace ironlb::config
