// MetalLB's pre-v0.13 configuration (the `config` key of the `config` ConfigMap), converted to
// metallb.io objects exactly as MetalLB's own configmaptocrs tool converts it.
#pragma once

#include <string>

#include "config/yaml_tree.h"
#include "model/snapshot.h"

namespace ironlb::config {

// The namespace configmaptocrs puts objects in when the ConfigMap names none.
inline constexpr const char* kMetalLBNamespace = "metallb-system";

// True when `root` is a mapping whose keys are all legacy sections (peers, address-pools,
// bgp-communities, bfd-profiles): a bare data.config fragment.
bool LooksLikeLegacyConfig(const YamlNode& root);

// Converts the legacy configuration `config` into objects appended to *out. `configmap` is the
// ConfigMap that held it (its namespace is used; empty for a bare fragment). Throws
// DecodeFailure with a path under `path` on the first problem (the strict v0.12 parser's rules).
void DecodeLegacyData(const YamlNode& config, const std::string& file, const std::string& path,
                      const ObjectMeta& configmap, Snapshot* out);

// configmaptocrs's name rewriting: names that are not Kubernetes names are truncated to 63
// characters, lower-cased, '_' turned into '-', and stripped up to the first letter. Returns ""
// when nothing usable is left.
std::string LegacyNameToK8s(const std::string& name);

}  // namespace ironlb::config
