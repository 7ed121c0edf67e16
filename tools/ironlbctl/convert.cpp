// `ironlbctl config convert FILE...` (also `ironlbctl convert` on stdin): prints the metallb.io
// objects equivalent to MetalLB configuration files, legacy ConfigMaps included, as apply-able
// YAML. `ironlbctl config check DIR|FILE...` validates files offline, as the agent would.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "command.h"
#include "config/decode.h"
#include "config/validate.h"
#include "store/file_store.h"

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

// A directory stands for the files the agent's FileStore would read from it (--config DIR).
std::vector<std::string> ExpandDirectories(const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const auto& a : args) {
    std::error_code ec;
    if (!fs::is_directory(a, ec)) {
      files.push_back(a);
      continue;
    }
    std::vector<std::string> in_dir;
    for (const auto& e : fs::directory_iterator(a, ec))
      if (ironlb::IsConfigFile(e.path()) && e.is_regular_file(ec)) in_dir.push_back(e.path());
    if (ec) throw std::runtime_error("cannot list " + a + ": " + ec.message());
    std::sort(in_dir.begin(), in_dir.end());  // FileStore's order: by name
    if (in_dir.empty()) throw std::runtime_error(a + " holds no *.yaml or *.yml file");
    files.insert(files.end(), in_dir.begin(), in_dir.end());
  }
  return files;
}

int Check(const Context& ctx, const std::vector<std::string>& args) {
  if (args.empty()) throw UsageError("config check needs a directory or files (- for stdin)");
  const std::vector<std::string> files = ExpandDirectories(args);
  Snapshot snap = DecodeAll(files);
  ironlb::ConfigState state;
  ironlb::config::Validate(snap, ironlb::Config{}, ironlb::config::ValidateOptions{}, &state);
  std::vector<ConfigError> errors = state.errors;
  for (const auto& svc : snap.services) {
    for (auto& e : ironlb::config::ValidateService(svc)) errors.push_back(std::move(e));
  }
  nlohmann::json doc = {{"valid", errors.empty()},
                        {"files", files},
                        {"objects",
                         {{"IPAddressPool", snap.pools.size()},
                          {"L2Advertisement", snap.l2_advertisements.size()},
                          {"BGPAdvertisement", snap.bgp_advertisements.size()},
                          {"BGPPeer", snap.peers.size()},
                          {"BFDProfile", snap.bfd_profiles.size()},
                          {"Community", snap.communities.size()},
                          {"Service", snap.services.size()}}},
                        {"errors", ErrorsJson(errors)}};
  Emit(ctx, doc, [&] {
    for (const auto& e : errors) std::cout << e.str() << "\n";
    if (errors.empty())
      std::cout << "configuration is valid (" << files.size() << " file(s), " << snap.pools.size()
                << " pool(s), " << snap.peers.size() << " peer(s))\n";
  });
  return errors.empty() ? kExitOk : kExitNotOk;
}

IRONLBCTL_REGISTER(Command{"config", "convert", "FILE...",
                           "print MetalLB files (legacy ConfigMap too) as metallb.io YAML",
                           Convert});
IRONLBCTL_REGISTER(Command{"convert", "", "< FILE", "same as `config convert`, reading stdin",
                           Convert});
IRONLBCTL_REGISTER(Command{
    "config", "check", "DIR|FILE...", "validate configuration offline, as the agent would", Check,
    "    Decodes and validates with the agent's own code, before anything is applied: a\n"
    "    directory means the *.yaml and *.yml files the agent's --config DIR would read. Each\n"
    "    error names the file, the object and the field. Exit status 3 when any error is found.\n"
    "    -j: {valid, files, objects: {KIND: count}, errors: [{file, kind, namespace, name,\n"
    "    field, message}]}.\n"});

}  // namespace
}  // namespace ironlbctl
