// One object as the API server sends it (a list item or a watch event's object), decoded with
// the same per-kind decoders the standalone YAML goes through.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "model/snapshot.h"

namespace ironlb::kube {

// Decodes `obj` (of `api_version`/`kind`, which list items of built-in kinds omit) into a
// snapshot holding that one object, or one decode error naming it. managedFields are dropped
// first: they are the bulk of every object and nothing reads them.
Snapshot DecodeApiObject(nlohmann::json obj, const std::string& api_version,
                         const std::string& kind);

// metadata.resourceVersion / namespace / name of an API object ("" when absent).
std::string ResourceVersionOf(const nlohmann::json& obj);
std::string KeyOf(const nlohmann::json& obj);  // "ns/name" or "name"

}  // namespace ironlb::kube
