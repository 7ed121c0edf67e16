#include "config/yaml_tree.h"

#include <cstring>

namespace ironlb::config {
namespace {

// Kubernetes objects hold a few KB of text; one block serves many documents.
constexpr size_t kBlockBytes = 64 << 10;

}  // namespace

bool YamlNode::IsNull() const {
  return tree_ != nullptr && tree_->entries_[index_].kind == YamlTree::Kind::kNull;
}

bool YamlNode::IsScalar() const {
  return tree_ != nullptr && tree_->entries_[index_].kind == YamlTree::Kind::kScalar;
}

bool YamlNode::IsMap() const {
  return tree_ != nullptr && tree_->entries_[index_].kind == YamlTree::Kind::kMap;
}

bool YamlNode::IsSequence() const {
  return tree_ != nullptr && tree_->entries_[index_].kind == YamlTree::Kind::kSequence;
}

std::string_view YamlNode::Scalar() const {
  return IsScalar() ? tree_->entries_[index_].text : std::string_view();
}

std::string_view YamlNode::Tag() const {
  return tree_ != nullptr ? tree_->entries_[index_].tag : std::string_view();
}

size_t YamlNode::size() const {
  if (tree_ == nullptr) return 0;
  const YamlTree::Entry& e = tree_->entries_[index_];
  if (e.kind == YamlTree::Kind::kSequence) return e.count;
  if (e.kind == YamlTree::Kind::kMap) return e.count / 2;
  return 0;
}

YamlNode YamlNode::operator[](size_t i) const {
  if (!IsSequence()) return YamlNode();
  const YamlTree::Entry& e = tree_->entries_[index_];
  if (i >= e.count) return YamlNode();
  return YamlNode(tree_, tree_->children_[e.first + i]);
}

YamlNode YamlNode::operator[](std::string_view key) const {
  for (const YamlPair& kv : *this)
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
  return YamlNode();
}

YamlPairIterator YamlNode::begin() const {
  if (!IsMap()) return YamlPairIterator(tree_, nullptr);
  return YamlPairIterator(tree_, tree_->children_.data() + tree_->entries_[index_].first);
}

YamlPairIterator YamlNode::end() const {
  if (!IsMap()) return YamlPairIterator(tree_, nullptr);
  const YamlTree::Entry& e = tree_->entries_[index_];
  return YamlPairIterator(tree_, tree_->children_.data() + e.first + e.count);
}

void YamlTree::Clear() {
  entries_.clear();
  children_.clear();
  block_ = 0;
  used_ = 0;
  large_.clear();
}

std::string_view YamlTree::Copy(std::string_view s) {
  if (s.empty()) return std::string_view();
  if (s.size() > kBlockBytes / 4) {
    large_.push_back(std::make_unique_for_overwrite<char[]>(s.size()));
    std::memcpy(large_.back().get(), s.data(), s.size());
    return std::string_view(large_.back().get(), s.size());
  }
  if (blocks_.empty() || used_ + s.size() > kBlockBytes) {
    if (!blocks_.empty()) ++block_;
    if (block_ == blocks_.size())
      blocks_.push_back(std::make_unique_for_overwrite<char[]>(kBlockBytes));
    used_ = 0;
  }
  char* at = blocks_[block_].get() + used_;
  std::memcpy(at, s.data(), s.size());
  used_ += s.size();
  return std::string_view(at, s.size());
}

uint32_t YamlTree::AddScalar(Kind kind, std::string_view text, std::string_view tag) {
  Entry e;
  e.kind = kind;
  e.text = Copy(text);
  e.tag = tag == "?" ? std::string_view("?") : tag == "!" ? std::string_view("!") : Copy(tag);
  entries_.push_back(e);
  return static_cast<uint32_t>(entries_.size() - 1);
}

uint32_t YamlTree::AddCollection(Kind kind, std::string_view tag) {
  Entry e;
  e.kind = kind;
  e.tag = Copy(tag);
  entries_.push_back(e);
  return static_cast<uint32_t>(entries_.size() - 1);
}

void YamlTree::SetChildren(uint32_t index, const uint32_t* children, size_t count) {
  Entry& e = entries_[index];
  e.first = static_cast<uint32_t>(children_.size());
  e.count = static_cast<uint32_t>(count);
  children_.insert(children_.end(), children, children + count);
}

}  // namespace ironlb::config
