// Which pools may serve a Service, in MetalLB's order: pools whose serviceAllocation selects it
// (by priority, unset last), then autoAssign pools without serviceAllocation, by name.
#pragma once

#include <string>
#include <vector>

#include "alloc/request.h"
#include "model/objects.h"

namespace ironlb::alloc {

// The pool has a serviceAllocation and it selects this Service: its namespace is listed or
// matched by a namespaceSelector (when either is given), and a serviceSelector matches its
// labels (when any is given). An allocateTo with no namespaces and no selectors selects all.
bool ServiceAllocationSelects(const IPAddressPool& pool, const Request& req);

// May the Service hold addresses of this pool at all (requested IPs, named pool, adoption):
// a pool without serviceAllocation serves everyone; one with it only those it selects.
bool PoolServes(const IPAddressPool& pool, const Request& req);

struct PoolOrder {
  std::vector<std::string> pinned;    // autoAssign pools whose serviceAllocation selects it
  std::vector<std::string> fallback;  // autoAssign pools without serviceAllocation, by name
};

// `pools` in any order; ties in priority are broken by name so the result is deterministic.
PoolOrder OrderPools(const std::vector<const IPAddressPool*>& pools, const Request& req);

}  // namespace ironlb::alloc
