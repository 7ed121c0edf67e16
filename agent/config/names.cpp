#include "config/names.h"

#include <algorithm>
#include <cstdio>

namespace ironlb::config {
namespace {

constexpr size_t kMaxLabel = 63;       // RFC 1123 section 2.1
constexpr size_t kMaxSubdomain = 253;  // RFC 1123, as Kubernetes counts it

bool LowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool IsDns1123Label(std::string_view l) {
  return !l.empty() && l.size() <= kMaxLabel && LowerAlnum(l.front()) && LowerAlnum(l.back()) &&
         std::all_of(l.begin(), l.end(), [](char c) { return LowerAlnum(c) || c == '-'; });
}

}  // namespace

bool IsDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > kMaxSubdomain) return false;
  for (size_t start = 0;;) {
    const size_t dot = s.find('.', start);
    if (!IsDns1123Label(s.substr(start, dot == std::string_view::npos ? dot : dot - start)))
      return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::optional<std::string> CheckName(std::string_view name, NameRule rule) {
  switch (rule) {
    case NameRule::kDns1123Subdomain:
      if (IsDns1123Subdomain(name)) return std::nullopt;
      return Quoted(name) +
             " is not a valid name: at most 253 characters of lower-case letters, digits, '-' "
             "and '.', starting and ending with a letter or digit (RFC 1123 subdomain)";
    case NameRule::kDns1123Label:
      if (IsDns1123Label(name)) return std::nullopt;
      return Quoted(name) +
             " is not a valid name: at most 63 characters of lower-case letters, digits and "
             "'-', starting and ending with a letter or digit (RFC 1123 label)";
    case NameRule::kDns1035Label:
      if (IsDns1123Label(name) && name.front() >= 'a' && name.front() <= 'z') return std::nullopt;
      return Quoted(name) +
             " is not a valid name: at most 63 characters of lower-case letters, digits and "
             "'-', starting with a letter and ending with a letter or digit (RFC 1035 label)";
  }
  return std::nullopt;
}

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

}  // namespace ironlb::config
