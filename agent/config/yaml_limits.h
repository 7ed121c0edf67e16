// Loads one YAML document (libyaml's parser, our own arena tree) while checking limits on its
// parse events: size, nesting depth, nodes after alias expansion, duplicate mapping keys.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "config/yaml_tree.h"

namespace ironlb::config {

// A file larger than this is not parsed. The Kubernetes API server takes request bodies up to
// 3 MiB; 16 MiB leaves room for ~25,000 Services in one standalone file.
inline constexpr size_t kMaxYamlFileBytes = 16u << 20;
// Nodes a document may hold once every alias is expanded (aliases are what the decoder walks).
inline constexpr size_t kMaxYamlExpandedNodes = 2'000'000;
inline constexpr size_t kMaxYamlAliases = 10'000;
// Kubernetes objects nest about 15 levels; yaml-cpp itself stops at 2,000.
inline constexpr size_t kMaxYamlDepth = 100;

struct YamlViolation {
  int line = 0;  // 0-based, within the document
  int column = 0;
  std::string field;  // path of the offending node, e.g. spec.ports[0].port
  std::string message;
};

struct YamlSyntaxError {
  int line = 0;  // 0-based, within the document
  int column = 0;
  std::string message;
};

// Exactly one of the three is set: the root (a null node for an empty document), the first limit
// exceeded, or the first syntax error. Duplicate keys are a violation (Kubernetes' strict
// decoding).
struct YamlDocument {
  std::optional<YamlNode> root;  // a node of the tree given to (or owned by) the loader
  std::optional<YamlViolation> violation;
  std::optional<YamlSyntaxError> syntax_error;
  std::unique_ptr<YamlTree> owned;  // the tree, when the caller gave none
};

// Parses the first document of `document` into *tree (cleared first; reuse one tree for many
// documents); nothing is built past a violation.
YamlDocument LoadYamlDocument(std::string_view document, YamlTree* tree);
// The same into a tree of the document's own.
YamlDocument LoadYamlDocument(std::string_view document);

// Walks the parse events of one document. Returns the first violation, or nothing when the
// document is within the limits (a syntax error is left for the loader to report).
std::optional<YamlViolation> CheckYamlLimits(std::string_view document);

}  // namespace ironlb::config
