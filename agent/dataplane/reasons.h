// Names of the data plane's per-reason counters (enum lb_reason in bpf/lb_maps.h), as shown by
// ironlbctl and the agent's status, and the reader of per-CPU counters.
#pragma once

#include <cstdint>
#include <string>

#include "dataplane/map_layout.h"
#include "dataplane/map_ops.h"

namespace ironlb::dataplane {

const char* ReasonName(uint32_t reason);

// Sum over CPUs of entry `index` of a per-CPU lb_counter map (kVipStats, kBackendStats,
// kReasonStats); zero if absent.
lb_counter SumCounters(const MapOps& ops, MapId map, uint32_t index);

}  // namespace ironlb::dataplane
