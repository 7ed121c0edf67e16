// An immutable YAML document tree held in one arena (YamlTree) and read through cheap handles
// (YamlNode): what the decoders walk instead of yaml-cpp's node tree, which cost a heap node,
// a shared_ptr and a memory merge per YAML node.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace ironlb::config {

class YamlTree;
class YamlPairIterator;

// A node of a YamlTree, or an undefined node (a field that is not there). Valid while its tree
// lives and is not cleared. Reads like the parts of yaml-cpp's Node the decoders used.
class YamlNode {
 public:
  YamlNode() = default;

  bool IsDefined() const { return tree_ != nullptr; }
  explicit operator bool() const { return IsDefined(); }
  bool IsNull() const;
  bool IsScalar() const;
  bool IsMap() const;
  bool IsSequence() const;
  // The text of a scalar; empty for anything else (null included).
  std::string_view Scalar() const;
  // "?" for a plain scalar, "!" for a quoted one, the resolved tag when one is written
  // ("tag:yaml.org,2002:str" for !!str), empty otherwise.
  std::string_view Tag() const;
  // Elements of a sequence, pairs of a mapping, 0 for anything else.
  size_t size() const;
  // Element i of a sequence; undefined out of range or for anything else.
  YamlNode operator[](size_t i) const;
  // The value of the first key equal to `key` in a mapping; undefined when there is none.
  YamlNode operator[](std::string_view key) const;
  // The same node (an alias refers to its anchor's node).
  bool is(const YamlNode& other) const { return tree_ == other.tree_ && index_ == other.index_; }

  // Iterates the pairs of a mapping in the order written (nothing for anything else).
  YamlPairIterator begin() const;
  YamlPairIterator end() const;

 private:
  friend class YamlTree;
  friend class YamlPairIterator;
  YamlNode(const YamlTree* tree, uint32_t index) : tree_(tree), index_(index) {}

  const YamlTree* tree_ = nullptr;
  uint32_t index_ = 0;
};

struct YamlPair {
  YamlNode first;
  YamlNode second;
};

class YamlPairIterator {
 public:
  YamlPairIterator(const YamlTree* tree, const uint32_t* at) : tree_(tree), at_(at) {}
  YamlPair operator*() const { return YamlPair{YamlNode(tree_, at_[0]), YamlNode(tree_, at_[1])}; }
  YamlPairIterator& operator++() {
    at_ += 2;
    return *this;
  }
  bool operator==(const YamlPairIterator& o) const { return at_ == o.at_; }

 private:
  const YamlTree* tree_;
  const uint32_t* at_;
};

// The nodes of one document. Built by the loader (yaml_limits.h) in event order; Clear() keeps
// the memory, so one tree reused for every document of a file allocates almost nothing after the
// first few documents.
class YamlTree {
 public:
  enum class Kind : uint8_t { kNull, kScalar, kSequence, kMap };

  YamlTree() = default;
  YamlTree(const YamlTree&) = delete;
  YamlTree& operator=(const YamlTree&) = delete;

  void Clear();
  // Stores a scalar (or a null node); `text` is copied. Returns its index.
  uint32_t AddScalar(Kind kind, std::string_view text, std::string_view tag);
  // Makes a collection whose children are filled in by SetChildren once it is complete.
  uint32_t AddCollection(Kind kind, std::string_view tag);
  // Children of collection `index`: elements, or key and value alternately for a mapping.
  void SetChildren(uint32_t index, const uint32_t* children, size_t count);
  YamlNode node(uint32_t index) const { return YamlNode(this, index); }
  // The text a scalar or null node was written with ("~" for a null written so).
  std::string_view RawText(uint32_t index) const { return entries_[index].text; }
  Kind kind(uint32_t index) const { return entries_[index].kind; }
  size_t nodes() const { return entries_.size(); }

 private:
  friend class YamlNode;
  struct Entry {
    std::string_view text;  // scalars: the value (in blocks_)
    std::string_view tag;   // static "?"/"!", or in blocks_
    uint32_t first = 0;     // collections: first child in children_
    uint32_t count = 0;     // collections: entries in children_ (2 per mapping pair)
    Kind kind = Kind::kNull;
  };

  std::string_view Copy(std::string_view s);

  std::vector<Entry> entries_;
  std::vector<uint32_t> children_;
  // Scalar text, in blocks that never move; cleared by resetting the cursor.
  std::vector<std::unique_ptr<char[]>> blocks_;
  size_t block_ = 0;                            // block being filled
  size_t used_ = 0;                             // bytes used in it
  std::vector<std::unique_ptr<char[]>> large_;  // texts over a block's size, freed on Clear
};

}  // namespace ironlb::config
