#include "fixture_util.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace ironlb::config::testing {

std::string ReadText(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::map<std::string, std::string> ReadHeader(const std::filesystem::path& p) {
  std::map<std::string, std::string> out;
  std::istringstream in(ReadText(p));
  std::string line;
  while (std::getline(in, line) && line.rfind("#", 0) == 0) {
    const size_t colon = line.find(": ");
    if (line.size() < 3 || line[1] != ' ' || colon == std::string::npos) continue;
    const std::string key = line.substr(2, colon - 2);
    if (key.find(' ') != std::string::npos) continue;
    out.emplace(key, line.substr(colon + 2));
  }
  return out;
}

std::vector<std::filesystem::path> YamlFiles(const std::string& dir) {
  std::vector<std::filesystem::path> out;
  const auto root = kCorpus / dir;
  if (!std::filesystem::is_directory(root)) return out;
  for (const auto& e : std::filesystem::directory_iterator(root)) {
    if (e.path().extension() == ".yaml") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Snapshot DecodeFile(const std::filesystem::path& p) {
  Snapshot snap;
  DecodeYaml(ReadText(p), p.filename().string(), &snap);
  return snap;
}

Outcome LoadAndValidate(const std::filesystem::path& p, const ValidateOptions& opts) {
  Outcome o;
  o.snap = DecodeFile(p);
  o.config = Validate(o.snap, Config{}, opts, &o.state);
  return o;
}

std::string Describe(const std::vector<ConfigError>& errors) {
  std::string s;
  for (const auto& e : errors) s += "  " + e.str() + "\n";
  return s.empty() ? "  (no errors)\n" : s;
}

}  // namespace ironlb::config::testing
