#include "model/community.h"

#include <charconv>
#include <limits>
#include <vector>

namespace ironlb {
namespace {

constexpr const char* kLargeMarker = "large";

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == sep) {
      out.emplace_back();
    } else {
      out.back().push_back(c);
    }
  }
  return out;
}

template <class T>
bool ParsePart(const std::string& part, const std::string& whole, T* out, std::string* error) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
  if (part.empty() || ec != std::errc() || ptr != part.data() + part.size() ||
      v > std::numeric_limits<T>::max()) {
    if (error) {
      *error = "part \"" + part + "\" of community \"" + whole + "\" is not a number from 0 to " +
               std::to_string(std::numeric_limits<T>::max());
    }
    return false;
  }
  *out = static_cast<T>(v);
  return true;
}

}  // namespace

CommunityParse ParseCommunity(const std::string& text, BGPCommunity* out, std::string* error) {
  const std::vector<std::string> parts = Split(text, ':');
  if (parts.size() == 2) {
    StandardCommunity c;
    if (!ParsePart(parts[0], text, &c.high, error) || !ParsePart(parts[1], text, &c.low, error)) {
      return CommunityParse::kBadValue;
    }
    if (out) *out = c;
    return CommunityParse::kOk;
  }
  if (parts.size() == 4) {
    if (parts[0] != kLargeMarker) {
      if (error) *error = "a large community is written large:<global>:<local1>:<local2>";
      return CommunityParse::kBadValue;
    }
    LargeCommunity c;
    if (!ParsePart(parts[1], text, &c.global_administrator, error) ||
        !ParsePart(parts[2], text, &c.local_data1, error) ||
        !ParsePart(parts[3], text, &c.local_data2, error)) {
      return CommunityParse::kBadValue;
    }
    if (out) *out = c;
    return CommunityParse::kOk;
  }
  if (error) {
    *error = "\"" + text + "\" is not a community: write A:B (two 16-bit numbers) or " +
             "large:G:L1:L2 (three 32-bit numbers)";
  }
  return CommunityParse::kBadFormat;
}

}  // namespace ironlb
