// yaml-cpp keeps an alias as a second reference to one node, so a few hundred bytes of nested
// anchors load cheaply and then expand exponentially in whatever walks the tree. The events
// carry each alias's anchor, so the expanded size is known from the anchors' own sizes without
// expanding anything; the walk stops at the first event over a limit.
#include "config/yaml_limits.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <set>
#include <sstream>
#include <unordered_map>
#include <vector>

namespace ironlb::config {
namespace {

struct Stop {
  YamlViolation v;
};

class LimitChecker : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t anchor) override { Leaf(m, anchor, nullptr); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t anchor) override {
    if (++aliases_ > kMaxYamlAliases)
      Fail(m, "more than " + std::to_string(kMaxYamlAliases) + " aliases");
    auto it = sizes_.find(anchor);
    // An alias to an anchor still open (a cycle) or unknown: yaml-cpp rejects it when loading.
    const size_t size = it == sizes_.end() ? 1 : it->second;
    Add(m, size);
    KeyOrValue(m, nullptr);
  }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    Leaf(m, anchor, &value);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(m, anchor, false);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(m, anchor, true);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    bool is_map = false;
    YAML::anchor_t anchor = 0;
    size_t nodes = 1;  // expanded, this collection included
    size_t index = 0;  // sequence position, or count of map events
    std::string key;   // current key of a map
    std::set<std::string> keys;
  };

  std::string Path() const {
    std::string p;
    for (const Frame& f : stack_) {
      if (f.is_map) {
        if (f.index % 2 == 0) break;  // reading a key: the path ends at this map
        if (!p.empty()) p += '.';
        p += f.key;
      } else {
        p += "[" + std::to_string(f.index) + "]";
      }
    }
    return p;
  }

  [[noreturn]] void Fail(const YAML::Mark& m, std::string message) {
    throw Stop{YamlViolation{m.line, m.column, Path(), std::move(message)}};
  }

  void Add(const YAML::Mark& m, size_t n) {
    total_ += n;
    if (total_ > kMaxYamlExpandedNodes)
      Fail(m, "more than " + std::to_string(kMaxYamlExpandedNodes) +
                  " nodes once aliases are expanded");
    if (!stack_.empty()) stack_.back().nodes += n;
  }

  // Records a key (checking for duplicates) or steps past a value in the enclosing collection.
  void KeyOrValue(const YAML::Mark& m, const std::string* scalar) {
    if (stack_.empty()) return;
    Frame& f = stack_.back();
    if (!f.is_map) {
      ++f.index;
      return;
    }
    if (f.index % 2 == 0) {
      f.key = scalar ? *scalar : "?";
      if (scalar && !f.keys.insert(*scalar).second) {
        ++f.index;  // the path names the duplicated field itself
        Fail(m, "duplicate key \"" + *scalar + "\"");
      }
    }
    ++f.index;
  }

  void Leaf(const YAML::Mark& m, YAML::anchor_t anchor, const std::string* scalar) {
    Add(m, 1);
    if (anchor) sizes_[anchor] = 1;
    KeyOrValue(m, scalar);
  }

  void Open(const YAML::Mark& m, YAML::anchor_t anchor, bool is_map) {
    Add(m, 1);
    if (stack_.size() >= kMaxYamlDepth)
      Fail(m, "nested more than " + std::to_string(kMaxYamlDepth) + " levels deep");
    Frame f;
    f.is_map = is_map;
    f.anchor = anchor;
    stack_.push_back(std::move(f));
    mark_.push_back(m);
  }

  void Close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    const YAML::Mark m = mark_.back();
    mark_.pop_back();
    if (f.anchor) sizes_[f.anchor] = f.nodes;
    // The collection itself was counted at its start; its children count in the parent too.
    if (!stack_.empty()) stack_.back().nodes += f.nodes - 1;
    KeyOrValue(m, nullptr);
  }

  std::vector<Frame> stack_;
  std::vector<YAML::Mark> mark_;
  std::unordered_map<YAML::anchor_t, size_t> sizes_;
  size_t total_ = 0;
  size_t aliases_ = 0;
};

}  // namespace

std::optional<YamlViolation> CheckYamlLimits(std::string_view document) {
  std::istringstream in{std::string(document)};
  LimitChecker checker;
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(checker)) {
    }
  } catch (const Stop& s) {
    return s.v;
  } catch (const YAML::Exception&) {
    // A syntax error: YAML::Load reports it with its position.
  }
  return std::nullopt;
}

}  // namespace ironlb::config
