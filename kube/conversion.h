// The BGPPeer conversion webhook: metallb.io v1beta1 <-> v1beta2 for the CRD's conversion
// stanza (an apiextensions.k8s.io/v1 ConversionReview in, its response out), as MetalLB converts.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace ironlb::kube {

inline constexpr const char* kBGPPeerV1beta1 = "metallb.io/v1beta1";
inline constexpr const char* kBGPPeerV1beta2 = "metallb.io/v1beta2";
// Where a v1beta1 copy keeps what only v1beta2 can say (vrf, passwordSecret, an unset hold
// timer, ...), so that v1beta2 -> v1beta1 -> v1beta2 gives back the same object. Labels and
// annotations are the only metadata a conversion may change.
inline constexpr const char* kV1beta2FieldsAnnotation = "ironlb.io/bgppeer-v1beta2-fields";

// One BGPPeer converted to `desired_api_version` (either version above; the same version
// returns the object unchanged). Throws std::invalid_argument for another kind or version, or a
// spec that is not an object.
nlohmann::json ConvertBGPPeer(const nlohmann::json& obj, const std::string& desired_api_version);

// The answer to a whole ConversionReview request body: every object converted, or
// result.status "Failed" with the reason (the API server then fails the client's request).
// Never throws.
nlohmann::json ReviewConversion(const nlohmann::json& review);

}  // namespace ironlb::kube
