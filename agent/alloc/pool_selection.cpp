#include "alloc/pool_selection.h"

#include <algorithm>
#include <tuple>

namespace ironlb::alloc {

bool ServiceAllocationSelects(const IPAddressPool& pool, const Request& req) {
  if (!pool.service_allocation) return false;
  const ServiceAllocation& sa = *pool.service_allocation;
  if (!sa.namespaces.empty() || !sa.namespace_selectors.empty()) {
    const bool listed =
        std::find(sa.namespaces.begin(), sa.namespaces.end(), req.ns) != sa.namespaces.end();
    const bool selected =
        std::any_of(sa.namespace_selectors.begin(), sa.namespace_selectors.end(),
                    [&](const LabelSelector& s) { return s.Matches(req.namespace_labels); });
    if (!listed && !selected) return false;
  }
  if (!sa.service_selectors.empty()) {
    return std::any_of(sa.service_selectors.begin(), sa.service_selectors.end(),
                       [&](const LabelSelector& s) { return s.Matches(req.service_labels); });
  }
  return true;
}

bool PoolServes(const IPAddressPool& pool, const Request& req) {
  return !pool.service_allocation || ServiceAllocationSelects(pool, req);
}

PoolOrder OrderPools(const std::vector<const IPAddressPool*>& pools, const Request& req) {
  std::vector<const IPAddressPool*> pinned;
  std::vector<const IPAddressPool*> fallback;
  for (const IPAddressPool* p : pools) {
    if (!p->auto_assign) continue;
    if (!p->service_allocation) {
      fallback.push_back(p);
    } else if (ServiceAllocationSelects(*p, req)) {
      pinned.push_back(p);
    }
  }
  // Lower priority value first; 0 means unset and sorts after every set priority.
  auto rank = [](const IPAddressPool* p) {
    const int prio = p->service_allocation->priority;
    return std::make_tuple(prio == 0, prio, p->meta.name);
  };
  std::sort(pinned.begin(), pinned.end(),
            [&](const IPAddressPool* a, const IPAddressPool* b) { return rank(a) < rank(b); });
  std::sort(fallback.begin(), fallback.end(), [](const IPAddressPool* a, const IPAddressPool* b) {
    return a->meta.name < b->meta.name;
  });
  PoolOrder out;
  for (const auto* p : pinned) out.pinned.push_back(p->meta.name);
  for (const auto* p : fallback) out.fallback.push_back(p->meta.name);
  return out;
}

}  // namespace ironlb::alloc
