#include "dataplane/flow.h"

#include <sys/cdefs.h>  // __always_inline, which the BPF headers take from bpf_helpers.h

#include "bpf/flow_hash.h"

namespace ironlb::dataplane {

uint32_t FlowHash(const lb_ct_key& key) {
  return lb_flow_hash(&key);
}

}  // namespace ironlb::dataplane
