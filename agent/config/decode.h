// Decodes what a user would `kubectl apply` (metallb.io kinds, Services, EndpointSlices, Nodes,
// Namespaces, Secrets, v1 Lists and the legacy MetalLB ConfigMap) into a Snapshot, and back.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "model/snapshot.h"

namespace ironlb::config {

// Appends every object of the multi-document YAML `text` to *out. `file` names the source in
// errors and in ObjectMeta::source. A document that cannot be decoded adds one ConfigError to
// out->decode_errors (file, object as far as known, field path); the other documents still load.
// Kinds ironlb does not use are skipped silently. When `cancel` becomes true the decode stops at
// the next document boundary (shutdown must not wait for a whole large file); *out is then partial.
// `threads`: 1 decodes on the caller's thread; 2 decodes the second half of the documents on a
// thread of its own (same result, in the same order); 0 chooses 2 for a file of at least
// kParallelDecodeBytes on a machine with two cores or more.
void DecodeYaml(std::string_view text, const std::string& file, Snapshot* out,
                const std::atomic<bool>* cancel = nullptr, int threads = 0);

// Below this a second thread costs more than it saves (measured in docs/benchmarks-agent.md).
inline constexpr size_t kParallelDecodeBytes = 256u << 10;

// Writes the metallb.io objects of `snap` as apply-able YAML (BGPPeers as v1beta2), omitting
// fields that hold their defaults. Deterministic: the same objects give the same text.
std::string EncodeYaml(const Snapshot& snap);

}  // namespace ironlb::config
