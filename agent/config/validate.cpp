// Validate's driver: admits objects kind by kind in dependency order (BFD profiles, communities,
// peers, pools, then advertisements), so each rule sees only what is already in force.
//
// Per object name: the current version is tried first; if it fails and the previous Config held
// a version of that name, that version is tried in the same place, so an invalid edit never
// takes away what worked. Names valid before are admitted before new names, each group in name
// order, so in a conflict the established object wins and the newcomer is rejected.
#include "config/validate.h"

#include <algorithm>
#include <functional>

#include "config/encode_object.h"
#include "config/validate_rules.h"

namespace ironlb::config {
namespace {

constexpr const char* kKeptNote = " (the previous version of this object stays in force)";

template <class T>
using CheckFn = std::function<Errors(const T& obj, T* admitted)>;

template <class T>
void Admit(const char* kind, const std::vector<T>& objects,
           const std::map<std::string, T>& previous, const Snapshot& snap,
           const ValidateOptions& opts, const CheckFn<T>& check, std::map<std::string, T>* accepted,
           Errors* errors) {
  // Group by name, dropping objects outside the required namespace.
  std::map<std::string, std::vector<const T*>> by_name;
  for (const T& obj : objects) {
    if (!opts.required_namespace.empty() && !obj.meta.ns.empty() &&
        obj.meta.ns != opts.required_namespace) {
      errors->push_back(ConfigError{obj.meta.source, ObjectRef{kind, obj.meta.ns, obj.meta.name},
                                    "metadata.namespace",
                                    "metallb.io objects must be in namespace " +
                                        opts.required_namespace + ", not " + obj.meta.ns});
      continue;
    }
    by_name[obj.meta.name].push_back(&obj);
  }
  // A document that failed to decode still stands for its object: keep the previous version.
  std::set<std::string> undecodable;
  for (const ConfigError& e : snap.decode_errors) {
    if (e.object.kind == kind && previous.count(e.object.name)) undecodable.insert(e.object.name);
  }

  std::vector<std::string> order;
  for (const auto& [name, _] : by_name) {
    if (previous.count(name)) order.push_back(name);
  }
  for (const auto& name : undecodable) {
    if (!by_name.count(name)) order.push_back(name);
  }
  std::sort(order.begin(), order.end());
  for (const auto& [name, _] : by_name) {
    if (!previous.count(name)) order.push_back(name);
  }

  for (const std::string& name : order) {
    auto prev_it = previous.find(name);
    const T* prev = prev_it == previous.end() ? nullptr : &prev_it->second;
    const T* current = nullptr;
    auto group = by_name.find(name);
    if (group != by_name.end()) {
      // Among same-named objects the one equal to the version in force wins, else the first.
      const std::vector<const T*>& same = group->second;
      current = same.front();
      if (prev && same.size() > 1) {
        const std::string prev_text = EncodeObject(*prev);
        for (const T* c : same) {
          if (EncodeObject(*c) == prev_text) current = c;
        }
      }
      for (const T* dup : same) {
        if (dup == current) continue;
        errors->push_back(ConfigError{
            dup->meta.source, ObjectRef{kind, dup->meta.ns, dup->meta.name}, "metadata.name",
            std::string("duplicate ") + kind + " \"" + name + "\": also defined in " +
                (current->meta.source.empty() ? "another document" : current->meta.source)});
      }
    }
    T admitted;
    if (current) {
      Errors errs = check(*current, &admitted);
      if (errs.empty()) {
        (*accepted)[name] = std::move(admitted);
        continue;
      }
      const bool keep_prev = prev && check(*prev, &admitted).empty();
      for (ConfigError& e : errs) {
        if (keep_prev) e.message += kKeptNote;
        errors->push_back(std::move(e));
      }
      if (keep_prev) (*accepted)[name] = std::move(admitted);
      continue;
    }
    if (prev && check(*prev, &admitted).empty()) (*accepted)[name] = std::move(admitted);
  }
}

}  // namespace

Config Validate(const Snapshot& snap, const Config& previous, const ValidateOptions& opts,
                ConfigState* state) {
  Config cfg;
  Errors errors = snap.decode_errors;
  RuleContext ctx{&snap.nodes, &snap.namespaces, &snap.secrets, &cfg};

  Admit<BFDProfile>(
      "BFDProfile", snap.bfd_profiles, previous.bfd_profiles, snap, opts,
      [&](const BFDProfile& b, BFDProfile* out) {
        *out = b;
        return CheckBFDProfile(b);
      },
      &cfg.bfd_profiles, &errors);

  Admit<Community>(
      "Community", snap.communities, previous.communities, snap, opts,
      [&](const Community& c, Community* out) {
        *out = c;
        return CheckCommunity(c, ctx);
      },
      &cfg.communities, &errors);
  for (const auto& [_, c] : cfg.communities) {
    for (const CommunityAlias& a : c.communities) cfg.community_aliases[a.name] = a.value;
  }

  Admit<BGPPeer>(
      "BGPPeer", snap.peers, previous.peers, snap, opts,
      [&](const BGPPeer& p, BGPPeer* out) {
        Errors errs = CheckPeer(p, ctx, out);
        return errs.empty() ? CheckPeerConflicts(p, ctx) : errs;
      },
      &cfg.peers, &errors);

  Admit<IPAddressPool>(
      "IPAddressPool", snap.pools, previous.pools, snap, opts,
      [&](const IPAddressPool& p, IPAddressPool* out) {
        Errors errs = CheckPool(p, ctx, out);
        return errs.empty() ? CheckPoolConflicts(p, ctx) : errs;
      },
      &cfg.pools, &errors);

  Admit<L2Advertisement>(
      "L2Advertisement", snap.l2_advertisements, previous.l2_advertisements, snap, opts,
      [&](const L2Advertisement& a, L2Advertisement* out) {
        *out = a;
        return CheckL2Advertisement(a);
      },
      &cfg.l2_advertisements, &errors);

  Admit<BGPAdvertisement>(
      "BGPAdvertisement", snap.bgp_advertisements, previous.bgp_advertisements, snap, opts,
      [&](const BGPAdvertisement& a, BGPAdvertisement* out) {
        *out = a;
        Errors errs = CheckBGPAdvertisement(a, ctx, out);
        return errs.empty() ? CheckBGPAdvertisementConflicts(a, ctx) : errs;
      },
      &cfg.bgp_advertisements, &errors);

  if (state) state->errors = std::move(errors);
  return cfg;
}

}  // namespace ironlb::config
