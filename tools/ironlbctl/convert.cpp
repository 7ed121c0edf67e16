// `ironlbctl config convert FILE...` (also `ironlbctl convert` on stdin): prints the metallb.io
// objects equivalent to MetalLB configuration files, legacy ConfigMaps included, as apply-able
// YAML. `ironlbctl config check FILE...` validates files as the agent would.
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "command.h"
#include "config/decode.h"
#include "config/validate.h"

namespace ironlbctl {
namespace {

using ironlb::ConfigError;
using ironlb::Snapshot;

std::string ReadInput(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Snapshot DecodeAll(const std::vector<std::string>& files) {
  Snapshot snap;
  const std::vector<std::string> inputs = files.empty() ? std::vector<std::string>{"-"} : files;
  for (const auto& f : inputs)
    ironlb::config::DecodeYaml(ReadInput(f), f == "-" ? "<stdin>" : f, &snap);
  return snap;
}

nlohmann::json ErrorsJson(const std::vector<ConfigError>& errors) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : errors) {
    out.push_back({{"file", e.file},
                   {"kind", e.object.kind},
                   {"namespace", e.object.ns},
                   {"name", e.object.name},
                   {"field", e.field},
                   {"message", e.message}});
  }
  return out;
}

int Convert(const Context&, const std::vector<std::string>& args) {
  Snapshot snap = DecodeAll(args);
  for (const auto& e : snap.decode_errors) std::cerr << "error: " << e.str() << "\n";
  std::cout << "# Converted by ironlbctl from " << (args.empty() ? "<stdin>" : args[0])
            << (args.size() > 1 ? " and others" : "") << "\n"
            << ironlb::config::EncodeYaml(snap);
  return snap.decode_errors.empty() ? 0 : 1;
}

int Check(const Context& ctx, const std::vector<std::string>& args) {
  Snapshot snap = DecodeAll(args);
  ironlb::ConfigState state;
  ironlb::config::Validate(snap, ironlb::Config{}, ironlb::config::ValidateOptions{}, &state);
  std::vector<ConfigError> errors = state.errors;
  for (const auto& svc : snap.services) {
    for (auto& e : ironlb::config::ValidateService(svc)) errors.push_back(std::move(e));
  }
  Emit(ctx, ErrorsJson(errors), [&] {
    for (const auto& e : errors) std::cout << e.str() << "\n";
    if (errors.empty()) std::cout << "configuration is valid\n";
  });
  return errors.empty() ? 0 : 1;
}

IRONLBCTL_REGISTER(Command{"config", "convert", "FILE...",
                           "print MetalLB files (legacy ConfigMap too) as metallb.io YAML",
                           Convert});
IRONLBCTL_REGISTER(Command{"convert", "", "< FILE", "same as `config convert`, reading stdin",
                           Convert});
IRONLBCTL_REGISTER(Command{"config", "check", "FILE...",
                           "validate configuration files as the agent does", Check});

}  // namespace
}  // namespace ironlbctl
