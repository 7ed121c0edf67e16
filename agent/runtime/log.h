// Minimal structured logging to stderr (journald/kubectl logs pick it up): one line per event,
// "time level component: message". Kept tiny on purpose; no global configuration beyond the level.
#pragma once

#include <string>

namespace ironlb::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLevel(Level l);
bool ParseLevel(const std::string& s, Level* out);
void Write(Level l, const std::string& component, const std::string& msg);

inline void Debug(const std::string& c, const std::string& m) { Write(Level::kDebug, c, m); }
inline void Info(const std::string& c, const std::string& m) { Write(Level::kInfo, c, m); }
inline void Warn(const std::string& c, const std::string& m) { Write(Level::kWarn, c, m); }
inline void Error(const std::string& c, const std::string& m) { Write(Level::kError, c, m); }

}  // namespace ironlb::log
