// Test helper: byte strings written as annotated hex ("04 | fd e9 | ...": any non-hex
// character separates), so golden messages can be read field by field.
#pragma once

#include <cctype>
#include <cstdint>
#include <string_view>
#include <vector>

namespace ironlb::bgp::test {

inline std::vector<uint8_t> Hex(std::string_view s) {
  std::vector<uint8_t> out;
  int nibble = -1;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) continue;
    const int v =
        std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10);
    if (nibble < 0) {
      nibble = v;
    } else {
      out.push_back(static_cast<uint8_t>(nibble << 4 | v));
      nibble = -1;
    }
  }
  return out;
}

inline constexpr std::string_view kMarker = "ffffffff ffffffff ffffffff ffffffff";

}  // namespace ironlb::bgp::test
