// The XDP program's flow hash for the agent and ironlbctl (`explain`): the very function of
// bpf/flow_hash.h compiled for user space, so a prediction cannot drift from the data plane.
#pragma once

#include <cstdint>

#include "dataplane/map_layout.h"

namespace ironlb::dataplane {

uint32_t FlowHash(const lb_ct_key& key);

}  // namespace ironlb::dataplane
