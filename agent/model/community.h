// BGP communities as types: parsed once from MetalLB's literals "A:B" (RFC 1997) and
// "large:G:L1:L2" (RFC 8092) at validation, then carried typed to the BGP encoder.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace ironlb {

struct StandardCommunity {
  uint16_t high = 0;  // usually the AS number
  uint16_t low = 0;
  uint32_t value() const { return (uint32_t(high) << 16) | low; }
  auto operator<=>(const StandardCommunity&) const = default;
};

struct LargeCommunity {
  uint32_t global_administrator = 0;
  uint32_t local_data1 = 0;
  uint32_t local_data2 = 0;
  auto operator<=>(const LargeCommunity&) const = default;
};

using BGPCommunity = std::variant<StandardCommunity, LargeCommunity>;

enum class CommunityParse { kOk, kBadFormat, kBadValue };

// kBadFormat: not shaped like a literal at all (so it may be an alias name); kBadValue: shaped
// like one but a part is out of range or not a number. *error says which.
CommunityParse ParseCommunity(const std::string& text, BGPCommunity* out, std::string* error);

}  // namespace ironlb
