// Per-kind decoders behind DecodeYaml: each reads one document (already known to be of its
// kind) into the snapshot, throwing DecodeFailure with the field path on the first problem.
#pragma once

#include <string>

#include "config/yaml_fields.h"
#include "config/yaml_tree.h"
#include "model/snapshot.h"

namespace ironlb::config {

// The document being decoded: its top-level fields, and where it came from.
struct Document {
  Fields& top;
  const std::string& file;
  const std::string& api_version;
  const std::string& kind;
};

// Reads metadata (lenient: unknown metadata fields are ignored, as the API server keeps them).
ObjectMeta ReadMeta(Document& doc);

// metallb.io kinds. Return false when `kind` is not one of them.
bool DecodeMetalLBKind(Document& doc, Snapshot* out);
// Core kinds (v1 Service/Node/Namespace/Secret, discovery.k8s.io/v1 EndpointSlice).
bool DecodeCoreKind(Document& doc, Snapshot* out);
// The legacy ConfigMap (data.config) or a bare data.config fragment; see legacy.h.
bool DecodeLegacyConfigMap(Document& doc, Snapshot* out);
// For a document no decoder took: throws DecodeFailure on `kind` when its group is one whose
// kinds are all known (v1, discovery.k8s.io/v1) and the kind is not among them, since a
// misspelt `kind: Servce` would otherwise delete the Service without a word. Kinds of other
// groups (Deployments, FRRConfigurations, ...) are not ours to judge.
void RejectUnknownCoreKind(Document& doc);

// Levenshtein distance, case-insensitive, for "did you mean" suggestions.
size_t EditDistance(const std::string& a, const std::string& b);

}  // namespace ironlb::config
