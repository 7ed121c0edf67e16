#include "config/duration.h"

#include <cstdint>
#include <limits>

namespace ironlb::config {
namespace {

constexpr int64_t kNanosecond = 1;
constexpr int64_t kMicrosecond = 1000 * kNanosecond;
constexpr int64_t kMillisecond = 1000 * kMicrosecond;
constexpr int64_t kSecond = 1000 * kMillisecond;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;

struct Unit {
  std::string_view name;
  int64_t nanos;
};
// Longest names first so that "ms" is not read as "m" + "s".
constexpr Unit kUnits[] = {{"ns", kNanosecond},
                           {"us", kMicrosecond},
                           {"\xC2\xB5s", kMicrosecond},
                           {"\xCE\xBCs", kMicrosecond},
                           {"ms", kMillisecond},
                           {"s", kSecond},
                           {"m", kMinute},
                           {"h", kHour}};

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::optional<Duration> ParseGoDuration(std::string_view text, std::string* error) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  auto fail = [&](const std::string& why) -> std::optional<Duration> {
    if (error) *error = why + " in duration " + quoted;
    return std::nullopt;
  };
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration(0);
  if (s.empty()) return fail("invalid duration");
  // Accumulate in long double nanoseconds: exact for every value a timer can sensibly hold.
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    long double value = 0;
    bool digits = false;
    while (i < s.size() && IsDigit(s[i])) {
      value = value * 10 + (s[i] - '0');
      digits = true;
      ++i;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < s.size() && IsDigit(s[i])) {
        value += scale * (s[i] - '0');
        scale /= 10;
        digits = true;
        ++i;
      }
    }
    if (!digits) return fail("invalid duration");
    size_t u = i;
    while (u < s.size() && !IsDigit(s[u]) && s[u] != '.') ++u;
    std::string_view unit = s.substr(i, u - i);
    if (unit.empty()) return fail("missing unit");
    int64_t nanos = 0;
    for (const Unit& k : kUnits) {
      if (unit == k.name) nanos = k.nanos;
    }
    if (nanos == 0) return fail("unknown unit \"" + std::string(unit) + "\"");
    total += value * nanos;
    if (total > static_cast<long double>(std::numeric_limits<int64_t>::max())) {
      return fail("invalid duration (overflow)");
    }
    s.remove_prefix(u);
  }
  const auto ms = static_cast<int64_t>(total / kMillisecond);
  return Duration(negative ? -ms : ms);
}

std::string FormatGoDuration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  constexpr int64_t kMsPerSecond = 1000;
  if (ms < kMsPerSecond) return out + std::to_string(ms) + "ms";
  const int64_t hours = ms / (kHour / kMillisecond);
  const int64_t minutes = ms / (kMinute / kMillisecond) % 60;
  const int64_t seconds = ms / kMsPerSecond % 60;
  const int64_t frac = ms % kMsPerSecond;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  out += std::to_string(seconds);
  if (frac != 0) {
    std::string f = std::to_string(frac);
    f = std::string(3 - f.size(), '0') + f;
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out + "s";
}

}  // namespace ironlb::config
