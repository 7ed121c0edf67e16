#include "runtime/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace ironlb::log {

namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
const char* Name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "?";
}
}  // namespace

void SetLevel(Level l) {
  g_level = static_cast<int>(l);
}

bool ParseLevel(const std::string& s, Level* out) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (s == Name(l)) {
      *out = l;
      return true;
    }
  }
  return false;
}

void Write(Level l, const std::string& component, const std::string& msg) {
  if (static_cast<int>(l) < g_level) return;
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t t = system_clock::to_time_t(now);
  const int ms =
      static_cast<int>(duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  // One fprintf per line keeps lines whole when several threads log.
  std::fprintf(stderr, "%s.%03dZ %-5s %s: %s\n", ts, ms, Name(l), component.c_str(), msg.c_str());
}

}  // namespace ironlb::log
