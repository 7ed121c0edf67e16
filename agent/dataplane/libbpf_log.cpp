#include "dataplane/libbpf_log.h"

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <utility>

#include "runtime/log.h"

namespace ironlb::dataplane {
namespace {

// Enough to carry a verifier's final complaint; a full verifier log is thousands of lines and
// belongs to `--log-level debug`.
constexpr size_t kKeptWarnings = 8;

std::mutex g_mu;
std::deque<std::string> g_warnings;
std::string g_libxdp_warning;

std::string Format(const char* fmt, va_list args) {
  char buf[1024];
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(buf, sizeof(buf), fmt, copy);
  va_end(copy);
  std::string s(buf, n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  // The libraries prefix their own name; the logger's component says it already.
  for (const char* prefix : {"libbpf: ", "libxdp: "})
    if (s.rfind(prefix, 0) == 0) s.erase(0, std::strlen(prefix));
  return s;
}

int LibbpfPrint(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;  // verifier and relocation chatter
  const std::string line = Format(fmt, args);
  if (line.empty()) return 0;
  if (level == LIBBPF_WARN) {
    std::lock_guard lock(g_mu);
    g_warnings.push_back(line);
    if (g_warnings.size() > kKeptWarnings) g_warnings.pop_front();
  }
  log::Debug("libbpf", line);
  return 0;
}

int LibxdpPrint(enum libxdp_print_level level, const char* fmt, va_list args) {
  if (level == LIBXDP_DEBUG) return 0;
  const std::string line = Format(fmt, args);
  if (line.empty()) return 0;
  // libxdp says why it gave up its dispatcher at info level ("Compatibility check for
  // dispatcher program failed: ..."), then that it falls back: keep the cause.
  if (line.find("fail") != std::string::npos) {
    std::lock_guard lock(g_mu);
    g_libxdp_warning = line;
  }
  log::Debug("libxdp", line);
  return 0;
}

}  // namespace

void RouteLibbpfOutput() {
  libbpf_set_print(LibbpfPrint);
  libxdp_set_print(LibxdpPrint);
}

std::string TakeLibbpfWarnings() {
  std::lock_guard lock(g_mu);
  std::string out;
  for (const auto& w : g_warnings) out += (out.empty() ? "" : " | ") + w;
  g_warnings.clear();
  return out;
}

std::string TakeLibxdpWarning() {
  std::lock_guard lock(g_mu);
  return std::exchange(g_libxdp_warning, {});
}

}  // namespace ironlb::dataplane
