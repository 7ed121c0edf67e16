// ironlbctl's command registry: each tools/ironlbctl/<object>.cpp registers the commands of
// one object (`alloc`, `vip`, `bgp`, ...) at static init; main.cpp parses global flags and
// dispatches.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace ironlbctl {

// Exit codes every command keeps, so scripts can tell "could not ask" from "the answer is no".
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // agent unreachable, maps not pinned, kernel error
inline constexpr int kExitUsage = 2;  // bad arguments
inline constexpr int kExitNotOk = 3;  // ran fine, and what it checked is not OK

struct Context {
  bool json = false;    // -j: machine-readable output
  bool pretty = false;  // -p: indented JSON (implies -j)
  std::string api_socket = "/run/ironlb/agent.sock";
  std::string bpffs = "/sys/fs/bpf/ironlb";
  std::string program = "ironlbctl";  // "kubectl ironlb" when run as the kubectl plugin
};

struct Command {
  std::string object;   // e.g. "alloc"
  std::string verb;     // e.g. "show"
  std::string args;     // usage of the remaining arguments, e.g. "VIP:PORT/PROTO"
  std::string summary;  // one line for `ironlbctl help`
  std::function<int(const Context&, const std::vector<std::string>&)> run;
  std::string details = {};  // paragraphs for `ironlbctl OBJECT help` (optional)
};

bool Register(Command c);

// Thrown by a command for bad arguments: main prints the message and the command's usage and
// exits with kExitUsage.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Prints `doc` as JSON when -j/-p was given, else calls `table` to print it for people.
void Emit(const Context& ctx, const nlohmann::json& doc, const std::function<void()>& table);

// Prints rows as aligned columns; the first row is the header.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

// GET `path` from the agent's local API (HTTP over the unix socket); throws std::runtime_error
// with a message that says what to check when the agent cannot be reached.
nlohmann::json ApiGet(const Context& ctx, const std::string& path);

}  // namespace ironlbctl

#define IRONLBCTL_CONCAT2(a, b) a##b
#define IRONLBCTL_CONCAT(a, b) IRONLBCTL_CONCAT2(a, b)
#define IRONLBCTL_REGISTER(...)                                         \
  static const bool IRONLBCTL_CONCAT(ironlbctl_registered_, __LINE__) = \
      ::ironlbctl::Register(__VA_ARGS__)
