#include "alloc/allocator.h"

#include <algorithm>

#include "alloc/pool_selection.h"

// How an allocation is chosen (MetalLB's controller, step by step):
//  1. A Service that holds addresses keeps them while they still fit: in a pool, that pool
//     still serves the Service, the families, requested IPs and requested pool still agree,
//     and sharing still holds with its current ports and keys. PreferDualStack Services
//     holding one family then get the other from the same pool if it has one.
//  2. Requested IPs (annotation or spec.loadBalancerIP) are taken as a whole from the one pool
//     that contains them, or refused.
//  3. An address-pool annotation allocates from that pool only.
//  4. Otherwise pinned pools (serviceAllocation selects the Service) by priority, then the
//     autoAssign pools without serviceAllocation by name.
// In a pool the candidate for a family is its first free address in range order, or for a
// Service with a sharing key an earlier address its sharing group already uses, if ports allow.

namespace ironlb::alloc {
namespace {

constexpr size_t kMaxFamilies = 2;
// Reasons list at most this many pools, so a reason stays readable with many pools.
constexpr size_t kMaxPoolsInReason = 8;

std::vector<Family> FamiliesOf(const Request& req) {
  return req.families.empty() ? std::vector<Family>{Family::kV4} : req.families;
}

// Orders addresses by the Service's family order (primary family first).
std::vector<IPAddr> InFamilyOrder(std::vector<IPAddr> ips, const std::vector<Family>& fams) {
  auto rank = [&](const IPAddr& ip) {
    return std::find(fams.begin(), fams.end(), ip.family()) - fams.begin();
  };
  std::stable_sort(ips.begin(), ips.end(),
                   [&](const IPAddr& a, const IPAddr& b) { return rank(a) < rank(b); });
  return ips;
}

std::string Join(const std::vector<IPAddr>& ips) {
  std::string s;
  for (const auto& ip : ips) {
    if (!s.empty()) s += ",";
    s += ip.str();
  }
  return s;
}

std::string FamilyList(const std::vector<Family>& fams) {
  std::string s;
  for (Family f : fams) {
    if (!s.empty()) s += "+";
    s += FamilyName(f);
  }
  return s;
}

// Which families the addresses must cover: exactly the Service's, or (PreferDualStack, best
// effort) at least one of them.
std::optional<std::string> FamiliesFit(const Request& req, const std::vector<IPAddr>& ips) {
  const auto fams = FamiliesOf(req);
  std::set<Family> want(fams.begin(), fams.end());
  std::set<Family> got;
  for (const auto& ip : ips) got.insert(ip.family());
  const bool subset = std::includes(want.begin(), want.end(), got.begin(), got.end());
  const bool best_effort = fams.size() == kMaxFamilies && !req.require_all_families;
  if (got == want || (subset && best_effort)) return std::nullopt;
  return "addresses " + Join(ips) + " do not match the Service's IP families (" + FamilyList(fams) +
         ")";
}

bool SameSet(std::vector<IPAddr> a, std::vector<IPAddr> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

}  // namespace

std::vector<std::string> Allocator::SetPools(const std::map<std::string, IPAddressPool>& pools) {
  pools_.clear();
  for (const auto& [name, pool] : pools) {
    IPAddressPool copy = pool;
    copy.meta.name = name;
    pools_.emplace(name, PoolSpace(copy));
  }
  std::vector<std::string> evicted;
  for (auto& [key, held] : held_) {
    const PoolSpace* p = PoolFor(held.ips, held.pool);
    if (!p) {
      evicted.push_back(key);
    } else {
      held.pool = p->name();  // the range may have moved to another pool: follow it
    }
  }
  std::sort(evicted.begin(), evicted.end());
  for (const auto& key : evicted) Release(key);
  for (const auto& [ip, use] : ips_) {
    for (auto& [name, p] : pools_) p.MarkUsed(ip);
  }
  services_per_pool_.clear();
  for (const auto& [key, held] : held_) ++services_per_pool_[held.pool];
  return evicted;
}

const PoolSpace* Allocator::PoolFor(const std::vector<IPAddr>& ips,
                                    const std::string& prefer) const {
  auto holds_all = [&](const PoolSpace& p) {
    return std::all_of(ips.begin(), ips.end(), [&](const IPAddr& ip) { return p.Contains(ip); });
  };
  if (auto it = pools_.find(prefer); it != pools_.end() && holds_all(it->second)) {
    return &it->second;
  }
  for (const auto& [name, p] : pools_) {
    if (holds_all(p)) return &p;
  }
  return nullptr;
}

std::optional<std::string> Allocator::Check(const Request& req, const std::vector<IPAddr>& ips,
                                            const std::string& prefer_pool,
                                            std::string* pool_name) const {
  if (ips.empty()) return "no addresses";
  if (ips.size() > kMaxFamilies) return "more than two addresses: " + Join(ips);
  if (ips.size() == kMaxFamilies && ips[0].family() == ips[1].family()) {
    return "addresses " + Join(ips) + " are of the same family";
  }
  if (auto why = FamiliesFit(req, ips)) return why;
  if (!req.requested.empty() && !SameSet(req.requested, ips)) {
    return "requested addresses " + Join(req.requested) + " differ from " + Join(ips);
  }
  const PoolSpace* pool = PoolFor(ips, prefer_pool);
  if (!pool) {
    for (const auto& ip : ips) {
      for (const auto& [name, p] : pools_) {
        if (p.SkipsAsBuggy(ip)) {
          return "address " + ip.str() + " is skipped by avoidBuggyIPs in pool \"" + name + "\"";
        }
      }
    }
    if (ips.size() == 1) return "address " + ips[0].str() + " is not in any IPAddressPool";
    return "addresses " + Join(ips) + " are not in one IPAddressPool";
  }
  if (!req.pool.empty() && pool->name() != req.pool) {
    return "addresses " + Join(ips) + " belong to pool \"" + pool->name() +
           "\", not to the requested pool \"" + req.pool + "\"";
  }
  if (!PoolServes(pool->config(), req)) {
    return "pool \"" + pool->name() + "\" does not serve this Service (its serviceAllocation " +
           "does not select it)";
  }
  const std::string backend = BackendKey(req);
  for (const auto& ip : ips) {
    auto it = ips_.find(ip);
    if (it == ips_.end()) continue;
    if (auto why = SharingConflict(ip, it->second, req.key, req.ports, req.sharing_key, backend)) {
      return why;
    }
  }
  *pool_name = pool->name();
  return std::nullopt;
}

std::optional<IPAddr> Allocator::Candidate(const PoolSpace& pool, Family f,
                                           const Request& req) const {
  std::optional<PoolPosition> best = pool.FirstFreePosition(f);
  std::optional<IPAddr> best_ip;
  if (best) best_ip = pool.FirstFree(f);
  if (req.sharing_key.empty()) return best_ip;
  const std::string backend = BackendKey(req);
  auto group = groups_.find({req.sharing_key, backend});
  if (group == groups_.end()) return best_ip;
  for (const auto& ip : group->second) {
    if (ip.family() != f) continue;
    auto pos = pool.Position(ip);
    if (!pos || (best && *best < *pos)) continue;
    const IpUse& use = ips_.at(ip);
    if (SharingConflict(ip, use, req.key, req.ports, req.sharing_key, backend)) continue;
    best = pos;
    best_ip = ip;
  }
  return best_ip;
}

std::optional<Allocator::Choice> Allocator::BestPool(const std::vector<std::string>& names,
                                                     const Request& req,
                                                     std::vector<std::string>* misses) const {
  const auto fams = FamiliesOf(req);
  std::optional<Choice> primary, secondary;
  for (const auto& name : names) {
    const PoolSpace& pool = pools_.at(name);
    std::vector<std::optional<IPAddr>> cand;
    std::string lacking;
    for (Family f : fams) {
      cand.push_back(Candidate(pool, f, req));
      if (!cand.back()) {
        if (!lacking.empty()) lacking += ", ";
        lacking += pool.HasFamily(f) ? "no free " : "no ";
        lacking += FamilyName(f);
        lacking += pool.HasFamily(f) ? " address" : " range";
      }
    }
    if (lacking.empty()) {
      Choice c{name, {}};
      for (const auto& ip : cand) c.ips.push_back(*ip);
      return c;
    }
    misses->push_back("pool \"" + name + "\": " + lacking);
    if (fams.size() < kMaxFamilies || req.require_all_families) continue;
    if (cand[0] && !primary) primary = Choice{name, {*cand[0]}};
    if (cand[1] && !secondary) secondary = Choice{name, {*cand[1]}};
  }
  if (primary) return primary;
  return secondary;
}

std::variant<Assignment, std::string> Allocator::Assign(const Request& req) {
  if (auto it = held_.find(req.key); it != held_.end()) {
    std::string pool;
    if (!Check(req, it->second.ips, it->second.pool, &pool)) {
      Assignment kept = Commit(req.key, Held{pool, InFamilyOrder(it->second.ips, FamiliesOf(req)),
                                             req.ports, req.sharing_key, BackendKey(req)});
      if (kept.ips.size() < kMaxFamilies) {
        MaybeAddMissingFamily(req);
        return *Get(req.key);
      }
      return kept;
    }
    Release(req.key);
  }
  return AllocateNew(req);
}

std::variant<Assignment, std::string> Allocator::AllocateNew(const Request& req) {
  const auto fams = FamiliesOf(req);
  if (!req.requested.empty()) {
    std::string pool;
    if (auto why = Check(req, req.requested, "", &pool)) return "requested " + *why;
    return Commit(req.key, Held{pool, InFamilyOrder(req.requested, fams), req.ports,
                                req.sharing_key, BackendKey(req)});
  }
  if (pools_.empty()) return std::string("no IPAddressPool is configured");

  std::vector<std::string> misses;
  std::optional<Choice> choice;
  std::string scope;
  if (!req.pool.empty()) {
    auto it = pools_.find(req.pool);
    if (it == pools_.end()) return "requested pool \"" + req.pool + "\" does not exist";
    if (!PoolServes(it->second.config(), req)) {
      return "requested pool \"" + req.pool +
             "\" does not serve this Service (its serviceAllocation does not select it)";
    }
    choice = BestPool({req.pool}, req, &misses);
    scope = "in requested pool \"" + req.pool + "\"";
  } else {
    std::vector<const IPAddressPool*> configs;
    for (const auto& [name, p] : pools_) configs.push_back(&p.config());
    const PoolOrder order = OrderPools(configs, req);
    choice = BestPool(order.pinned, req, &misses);
    if (!choice) choice = BestPool(order.fallback, req, &misses);
    if (order.pinned.empty() && order.fallback.empty()) {
      return std::string(
          "no pool may auto-assign to this Service: every pool has autoAssign false or a "
          "serviceAllocation that does not select it");
    }
    scope = "in any pool";
  }
  if (!choice) {
    std::string why = "no available " + FamilyList(fams) + " address " + scope;
    if (fams.size() == kMaxFamilies) {
      why += req.require_all_families ? " (RequireDualStack needs both from one pool)"
                                      : " (PreferDualStack)";
    }
    for (size_t i = 0; i < misses.size() && i < kMaxPoolsInReason; ++i) {
      why += (i == 0 ? ": " : "; ") + misses[i];
    }
    if (misses.size() > kMaxPoolsInReason) why += "; ...";
    return why;
  }
  return Commit(req.key, Held{choice->pool, InFamilyOrder(choice->ips, fams), req.ports,
                              req.sharing_key, BackendKey(req)});
}

void Allocator::MaybeAddMissingFamily(const Request& req) {
  const auto fams = FamiliesOf(req);
  auto it = held_.find(req.key);
  if (fams.size() != kMaxFamilies || req.require_all_families || !req.requested.empty() ||
      it == held_.end() || it->second.ips.size() != 1) {
    return;
  }
  const Family missing = it->second.ips[0].family() == fams[0] ? fams[1] : fams[0];
  auto pool = pools_.find(it->second.pool);
  if (pool == pools_.end()) return;
  auto ip = Candidate(pool->second, missing, req);
  if (!ip) return;
  Held h = it->second;
  h.ips.push_back(*ip);
  h.ips = InFamilyOrder(h.ips, fams);
  Commit(req.key, std::move(h));
}

bool Allocator::Adopt(const Request& req, const std::vector<IPAddr>& ips, std::string* reason) {
  std::string pool;
  if (auto why = Check(req, ips, "", &pool)) {
    if (reason) *reason = *why;
    return false;
  }
  Commit(req.key, Held{pool, InFamilyOrder(ips, FamiliesOf(req)), req.ports, req.sharing_key,
                       BackendKey(req)});
  return true;
}

Assignment Allocator::Commit(const std::string& key, Held held) {
  Release(key);
  for (const auto& ip : held.ips) AddUse(ip, key, held);
  ++services_per_pool_[held.pool];
  Assignment out{held.pool, held.ips};
  held_.insert_or_assign(key, std::move(held));
  return out;
}

void Allocator::Release(const std::string& key) {
  auto it = held_.find(key);
  if (it == held_.end()) return;
  for (const auto& ip : it->second.ips) DropUse(ip, key);
  auto count = services_per_pool_.find(it->second.pool);
  if (count != services_per_pool_.end() && --count->second == 0) services_per_pool_.erase(count);
  held_.erase(it);
}

void Allocator::Group(const IPAddr& ip, const IpUse& use) {
  if (!use.sharing_key.empty()) groups_[{use.sharing_key, use.backend_key}].insert(ip);
}

void Allocator::Ungroup(const IPAddr& ip, const IpUse& use) {
  auto g = groups_.find({use.sharing_key, use.backend_key});
  if (g == groups_.end()) return;
  g->second.erase(ip);
  if (g->second.empty()) groups_.erase(g);
}

void Allocator::AddUse(const IPAddr& ip, const std::string& key, const Held& held) {
  IpUse& use = ips_[ip];
  const bool fresh = use.services.empty();
  if (fresh || use.sharing_key != held.sharing_key || use.backend_key != held.backend_key) {
    if (!fresh) Ungroup(ip, use);
    use.sharing_key = held.sharing_key;
    use.backend_key = held.backend_key;
    Group(ip, use);
  }
  use.services.insert(key);
  for (const auto& p : held.ports) use.ports[p] = key;
  if (fresh) {
    for (auto& [name, pool] : pools_) pool.MarkUsed(ip);
  }
}

void Allocator::DropUse(const IPAddr& ip, const std::string& key) {
  auto it = ips_.find(ip);
  if (it == ips_.end()) return;
  IpUse& use = it->second;
  use.services.erase(key);
  std::erase_if(use.ports, [&](const auto& kv) { return kv.second == key; });
  if (!use.services.empty()) return;
  Ungroup(ip, use);
  ips_.erase(it);
  for (auto& [name, pool] : pools_) pool.MarkFree(ip);
}

std::optional<Assignment> Allocator::Get(const std::string& key) const {
  auto it = held_.find(key);
  if (it == held_.end()) return std::nullopt;
  return Assignment{it->second.pool, it->second.ips};
}

std::map<std::string, Assignment> Allocator::Assignments() const {
  std::map<std::string, Assignment> out;
  for (const auto& [key, held] : held_) out.emplace(key, Assignment{held.pool, held.ips});
  return out;
}

std::vector<std::string> Allocator::ServicesOn(const IPAddr& ip) const {
  auto it = ips_.find(ip);
  if (it == ips_.end()) return {};
  return {it->second.services.begin(), it->second.services.end()};
}

std::optional<PoolUsage> Allocator::Usage(const std::string& pool) const {
  auto it = pools_.find(pool);
  if (it == pools_.end()) return std::nullopt;
  const PoolSpace& p = it->second;
  PoolUsage u;
  u.size_v4 = p.Size(Family::kV4);
  u.size_v6 = p.Size(Family::kV6);
  u.size = u.size_v4 > ~u128(0) - u.size_v6 ? ~u128(0) : u.size_v4 + u.size_v6;
  u.assigned_v4 = p.Used(Family::kV4);
  u.assigned_v6 = p.Used(Family::kV6);
  u.assigned_ips = u.assigned_v4 + u.assigned_v6;
  auto c = services_per_pool_.find(pool);
  u.services = c == services_per_pool_.end() ? 0 : c->second;
  return u;
}

std::map<std::string, PoolUsage> Allocator::AllUsage() const {
  std::map<std::string, PoolUsage> out;
  for (const auto& [name, p] : pools_) out.emplace(name, *Usage(name));
  return out;
}

}  // namespace ironlb::alloc
