// Standard base64 (RFC 4648 section 4) decoding for Secret data, as the API server stores it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ironlb::config {

// Decodes padded standard base64; whitespace is ignored. nullopt when the text is not base64.
std::optional<std::string> DecodeBase64(std::string_view text);

}  // namespace ironlb::config
