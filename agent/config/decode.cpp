#include "config/decode.h"

#include <algorithm>
#include <exception>
#include <iterator>
#include <sstream>
#include <thread>
#include <vector>

#include "config/decode_kinds.h"
#include "config/legacy.h"
#include "config/yaml_fields.h"
#include "config/yaml_limits.h"

namespace ironlb::config {
namespace {

// One document: a slice of the file's text (which ends with a newline).
struct RawDocument {
  std::string_view text;
  int first_line = 0;  // 0-based line of the document's first line within the file
};

bool IsMarker(std::string_view line, std::string_view marker) {
  if (line.substr(0, marker.size()) != marker) return false;
  return line.size() == marker.size() || line[marker.size()] == ' ' ||
         line[marker.size()] == '\t' || line[marker.size()] == '\r';
}

// Splits on document markers ourselves so that a syntax error in one document does not hide
// the others (a YAML parser gives up on the whole stream at the first error). A document starts
// just after its `---` (the rest of that line belongs to it) or on the line after a `...`.
// `text` must end with a newline.
std::vector<RawDocument> SplitDocuments(std::string_view text) {
  std::vector<RawDocument> docs;
  size_t doc_start = 0;
  int doc_line = 0;
  int line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t end = text.find('\n', pos);
    const std::string_view line = text.substr(pos, end - pos);
    if (IsMarker(line, "---")) {
      docs.push_back(RawDocument{text.substr(doc_start, pos - doc_start), doc_line});
      doc_start = pos + 3;
      doc_line = line_no;
    } else if (IsMarker(line, "...")) {
      docs.push_back(RawDocument{text.substr(doc_start, pos - doc_start), doc_line});
      doc_start = end + 1;
      doc_line = line_no + 1;
    }
    ++line_no;
    pos = end + 1;
  }
  docs.push_back(RawDocument{text.substr(doc_start), doc_line});
  return docs;
}

// Best-effort identity of a document for error messages, never throwing.
ObjectRef GuessRef(const YamlNode& root) {
  ObjectRef ref;
  if (!root.IsMap()) return ref;
  ref.kind = root["kind"].Scalar();
  const YamlNode meta = root["metadata"];
  ref.name = meta["name"].Scalar();
  ref.ns = meta["namespace"].Scalar();
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

ObjectRef ScanRef(std::string_view text) {
  ObjectRef ref;
  std::istringstream in{std::string(text)};
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

void DecodeNode(const YamlNode& root, const std::string& file, const std::string& path,
                Snapshot* out);

void DecodeList(Fields& top, const std::string& file, Snapshot* out) {
  const YamlNode items = top.Get("items");
  top.Get("apiVersion");
  top.Get("kind");
  top.Get("metadata");
  ForEachItem(items, top.Path("items"),
              [&](const YamlNode& item, const std::string& p) { DecodeNode(item, file, p, out); });
}

void DecodeNode(const YamlNode& root, const std::string& file, const std::string& path,
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
  }
}

// Decodes docs[from, to) into *out; `total_lines` keeps error lines inside the file.
void DecodeDocuments(const std::vector<RawDocument>& docs, size_t from, size_t to,
                     const std::string& file, int total_lines, Snapshot* out,
                     const std::atomic<bool>* cancel) {
  YamlTree tree;  // one for every document: its memory is reused
  for (size_t i = from; i < to; ++i) {
    const RawDocument& raw = docs[i];
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) return;
    YamlDocument doc = LoadYamlDocument(raw.text, &tree);
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
    DecodeNode(*doc.root, file, "", out);
  }
}

// Moves every object and error of `from` after those of *into.
void AppendSnapshot(Snapshot&& from, Snapshot* into) {
  static_assert(sizeof(Snapshot) == 12 * sizeof(std::vector<int>),
                "a field added to Snapshot must be appended here too");
  auto move = [](auto& to, auto& v) {
    to.insert(to.end(), std::make_move_iterator(v.begin()), std::make_move_iterator(v.end()));
  };
  move(into->pools, from.pools);
  move(into->l2_advertisements, from.l2_advertisements);
  move(into->bgp_advertisements, from.bgp_advertisements);
  move(into->peers, from.peers);
  move(into->bfd_profiles, from.bfd_profiles);
  move(into->communities, from.communities);
  move(into->services, from.services);
  move(into->endpoint_slices, from.endpoint_slices);
  move(into->nodes, from.nodes);
  move(into->namespaces, from.namespaces);
  move(into->secrets, from.secrets);
  move(into->decode_errors, from.decode_errors);
}

}  // namespace

void DecodeYaml(std::string_view text, const std::string& file, Snapshot* out,
                const std::atomic<bool>* cancel, int threads) {
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
  std::string terminated;  // documents are slices of text that ends with a newline
  if (text.empty() || text.back() != '\n') {
    terminated.assign(text).push_back('\n');
    text = terminated;
  }
  const std::vector<RawDocument> docs = SplitDocuments(text);
  if (threads <= 0) {
    threads =
        text.size() >= kParallelDecodeBytes && std::thread::hardware_concurrency() >= 2 ? 2 : 1;
  }
  if (threads < 2 || docs.size() < 2) {
    DecodeDocuments(docs, 0, docs.size(), file, total_lines, out, cancel);
    return;
  }
  // Documents are independent: the second half goes to a thread of its own and its objects
  // after the first half's, so the result is the one a single thread gives.
  size_t mid = 0;
  while (mid + 1 < docs.size() &&
         static_cast<size_t>(docs[mid].text.data() - text.data()) < text.size() / 2) {
    ++mid;
  }
  Snapshot second;
  std::exception_ptr failed;
  std::thread worker([&] {
    try {
      DecodeDocuments(docs, mid, docs.size(), file, total_lines, &second, cancel);
    } catch (...) {
      failed = std::current_exception();
    }
  });
  try {
    DecodeDocuments(docs, 0, mid, file, total_lines, out, cancel);
  } catch (...) {
    worker.join();
    throw;
  }
  worker.join();
  if (failed) std::rethrow_exception(failed);
  AppendSnapshot(std::move(second), out);
}

}  // namespace ironlb::config
