#include "config/yaml_scalar.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>

namespace ironlb::config {
namespace {

bool OneOf(std::string_view s, std::initializer_list<std::string_view> words) {
  return std::find(words.begin(), words.end(), s) != words.end();
}

bool AllOf(std::string_view s, bool (*pred)(char)) {
  return !s.empty() && std::all_of(s.begin(), s.end(), pred);
}

bool Digit(char c) {
  return c >= '0' && c <= '9';
}
bool DigitOrUnderscore(char c) {
  return Digit(c) || c == '_';
}
bool HexOrUnderscore(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) || c == '_';
}
bool BinOrUnderscore(char c) {
  return c == '0' || c == '1' || c == '_';
}

// [0-9][0-9_]*(\.[0-9_]*)?  or  \.[0-9]+  followed by an optional exponent.
bool IsDecimalFloat(std::string_view s) {
  size_t i = 0;
  bool mantissa = false;
  if (i < s.size() && Digit(s[i])) {
    while (i < s.size() && DigitOrUnderscore(s[i])) ++i;
    mantissa = true;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && DigitOrUnderscore(s[i])) ++i;
    }
  } else if (i < s.size() && s[i] == '.') {
    ++i;
    const size_t start = i;
    while (i < s.size() && Digit(s[i])) ++i;
    mantissa = i > start;
  }
  if (!mantissa) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const size_t start = i;
    while (i < s.size() && Digit(s[i])) ++i;
    if (i == start) return false;
  }
  return i == s.size();
}

}  // namespace

bool IsYamlTrue(std::string_view s) {
  return OneOf(s, {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"});
}

bool IsYamlBool(std::string_view s) {
  return IsYamlTrue(s) ||
         OneOf(s, {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"});
}

bool IsYamlNull(std::string_view s) {
  return OneOf(s, {"", "~", "null", "Null", "NULL"});
}

bool IsYamlNumber(std::string_view s) {
  if (OneOf(s, {".nan", ".NaN", ".NAN"})) return true;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  if (OneOf(s, {".inf", ".Inf", ".INF"})) return true;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
    return AllOf(s.substr(2), HexOrUnderscore);
  if (s.size() > 2 && s[0] == '0' && s[1] == 'b') return AllOf(s.substr(2), BinOrUnderscore);
  return IsDecimalFloat(s);  // integers are floats without a fraction here
}

}  // namespace ironlb::config
