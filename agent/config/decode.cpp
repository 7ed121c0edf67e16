#include "config/decode.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <sstream>
#include <vector>

#include "config/decode_kinds.h"
#include "config/legacy.h"
#include "config/yaml_fields.h"
#include "config/yaml_limits.h"

namespace ironlb::config {
namespace {

struct RawDocument {
  std::string text;
  int first_line = 0;  // 0-based line of the document's first line within the file
};

bool IsMarker(std::string_view line, std::string_view marker) {
  if (line.substr(0, marker.size()) != marker) return false;
  return line.size() == marker.size() || line[marker.size()] == ' ' ||
         line[marker.size()] == '\t' || line[marker.size()] == '\r';
}

// Splits on document markers ourselves so that a syntax error in one document does not hide
// the others (yaml-cpp's LoadAll gives up on the whole stream).
std::vector<RawDocument> SplitDocuments(std::string_view text) {
  std::vector<RawDocument> docs(1);
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (IsMarker(line, "---")) {
      docs.push_back(RawDocument{std::string(line.substr(3)) + "\n", line_no});
    } else if (IsMarker(line, "...")) {
      docs.push_back(RawDocument{"", line_no + 1});
    } else {
      docs.back().text.append(line).append("\n");
    }
    ++line_no;
    if (end + 1 >= text.size()) break;  // no empty segment after the final newline
    pos = end + 1;
  }
  return docs;
}

// Best-effort identity of a document for error messages, never throwing.
ObjectRef GuessRef(const YAML::Node& root) {
  ObjectRef ref;
  try {
    if (!root.IsMap()) return ref;
    if (root["kind"] && root["kind"].IsScalar()) ref.kind = root["kind"].Scalar();
    const YAML::Node meta = root["metadata"];
    if (meta && meta.IsMap()) {
      if (meta["name"] && meta["name"].IsScalar()) ref.name = meta["name"].Scalar();
      if (meta["namespace"] && meta["namespace"].IsScalar()) ref.ns = meta["namespace"].Scalar();
    }
  } catch (const YAML::Exception&) {
  }
  return ref;
}

// For a document that does not parse: kind and metadata name/namespace read line by line.
// The value of `key:` within `scope` (a line, or the inside of a flow mapping), if present.
std::string FindValue(const std::string& scope, const std::string& key) {
  const std::string k = key + ":";
  for (size_t at = scope.find(k); at != std::string::npos; at = scope.find(k, at + 1)) {
    if (at > 0 && scope[at - 1] != ' ' && scope[at - 1] != '\t' && scope[at - 1] != ',' &&
        scope[at - 1] != '{') {
      continue;
    }
    size_t b = scope.find_first_not_of(" \t", at + k.size());
    if (b == std::string::npos) return "";
    const size_t e = scope.find_first_of(" \t,}#", b);
    return scope.substr(b, e == std::string::npos ? std::string::npos : e - b);
  }
  return "";
}

ObjectRef ScanRef(const std::string& text) {
  ObjectRef ref;
  std::istringstream in(text);
  std::string line;
  bool in_meta = false;
  while (std::getline(in, line)) {
    const bool top_level = !line.empty() && line[0] != ' ' && line[0] != '\t' && line[0] != '#';
    if (top_level && line.rfind("kind:", 0) == 0) ref.kind = FindValue(line, "kind");
    if (top_level) in_meta = line.rfind("metadata:", 0) == 0;
    if (!in_meta) continue;
    std::string scope = line;
    if (top_level) {
      const size_t brace = line.find('{');
      if (brace == std::string::npos) continue;
      scope = line.substr(brace);
    }
    if (ref.name.empty()) ref.name = FindValue(scope, "name");
    if (ref.ns.empty()) ref.ns = FindValue(scope, "namespace");
  }
  return ref;
}

void DecodeNode(const YAML::Node& root, const std::string& file, const std::string& path,
                Snapshot* out);

void DecodeList(Fields& top, const std::string& file, Snapshot* out) {
  const YAML::Node items = top.Get("items");
  top.Get("apiVersion");
  top.Get("kind");
  top.Get("metadata");
  ForEachItem(items, top.Path("items"), [&](const YAML::Node& item, const std::string& p) {
    DecodeNode(item, file, p, out);
  });
}

void DecodeNode(const YAML::Node& root, const std::string& file, const std::string& path,
                Snapshot* out) {
  if (!IsSet(root)) return;  // an empty document
  try {
    if (!root.IsMap()) throw DecodeFailure(path, "a document must be a mapping (an object)");
    Fields top(root, path);
    const std::string api_version = ReadString(top.Get("apiVersion"), top.Path("apiVersion"));
    const std::string kind = ReadString(top.Get("kind"), top.Path("kind"));
    Document doc{top, file, api_version, kind};
    if (kind.empty() && api_version.empty()) {
      // Only a legacy data.config fragment is meaningful without apiVersion and kind.
      if (LooksLikeLegacyConfig(root)) {
        DecodeLegacyData(root, file, path, ObjectMeta{}, out);
        return;
      }
      throw DecodeFailure(JoinPath(path, "kind"), "document has no apiVersion and kind");
    }
    if (api_version == "v1" && kind == "List") {
      DecodeList(top, file, out);
      return;
    }
    if (DecodeMetalLBKind(doc, out) || DecodeCoreKind(doc, out) ||
        DecodeLegacyConfigMap(doc, out)) {
      return;
    }
    RejectUnknownCoreKind(doc);
    // Anything else (Deployments, FRRConfigurations, ...) is not ours to read.
  } catch (const DecodeFailure& e) {
    out->decode_errors.push_back(ConfigError{file, GuessRef(root), e.field, e.what()});
  } catch (const YAML::Exception& e) {
    out->decode_errors.push_back(ConfigError{file, GuessRef(root), path, e.what()});
  }
}

}  // namespace

void DecodeYaml(std::string_view text, const std::string& file, Snapshot* out,
                const std::atomic<bool>* cancel) {
  const int total_lines =
      std::max<int>(1, static_cast<int>(std::count(text.begin(), text.end(), '\n')) +
                           (text.empty() || text.back() == '\n' ? 0 : 1));
  if (text.size() > kMaxYamlFileBytes) {
    out->decode_errors.push_back(ConfigError{file,
                                             {},
                                             "",
                                             "file is " + std::to_string(text.size()) +
                                                 " bytes, over the limit of " +
                                                 std::to_string(kMaxYamlFileBytes >> 20) +
                                                 " MiB: not read (split it into smaller files)"});
    return;
  }
  for (const RawDocument& raw : SplitDocuments(text)) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) return;
    YamlDocument doc = LoadYamlDocument(raw.text);
    if (doc.violation) {
      const YamlViolation& v = *doc.violation;
      const int line = std::min(raw.first_line + v.line + 1, total_lines);
      out->decode_errors.push_back(ConfigError{file, ScanRef(raw.text), v.field,
                                               v.message + " at line " + std::to_string(line) +
                                                   ", column " + std::to_string(v.column + 1)});
      continue;
    }
    if (doc.syntax_error) {
      const YamlSyntaxError& e = *doc.syntax_error;
      // The parser may point just past the end of the document; keep the line inside the file.
      const int line = std::min(raw.first_line + e.line + 1, total_lines);
      out->decode_errors.push_back(ConfigError{file, ScanRef(raw.text), "",
                                               "YAML syntax error at line " + std::to_string(line) +
                                                   ", column " + std::to_string(e.column + 1) +
                                                   ": " + e.message});
      continue;
    }
    const YAML::Node root = *doc.root;
    DecodeNode(root, file, "", out);
  }
}

}  // namespace ironlb::config
