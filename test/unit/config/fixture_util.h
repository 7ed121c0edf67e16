// Helpers for the fixture-driven tests: reading files, the corpus' `# key: value` headers,
// and decoding + validating a file in one call.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "config/decode.h"
#include "config/validate.h"

namespace ironlb::config::testing {

inline const std::filesystem::path kCorpus = std::filesystem::path(IRONLB_FIXTURES_DIR) / "metallb";

std::string ReadText(const std::filesystem::path& p);
// The header comment keys of a corpus file ("expect", "error", ...).
std::map<std::string, std::string> ReadHeader(const std::filesystem::path& p);
// The *.yaml files of a corpus directory, sorted.
std::vector<std::filesystem::path> YamlFiles(const std::string& dir);
Snapshot DecodeFile(const std::filesystem::path& p);

struct Outcome {
  Snapshot snap;
  Config config;
  ConfigState state;
};
Outcome LoadAndValidate(const std::filesystem::path& p, const ValidateOptions& opts = {});
// Every error as one line each, for failure messages.
std::string Describe(const std::vector<ConfigError>& errors);

}  // namespace ironlb::config::testing
