// The map sync's image of a BPF map: the kernel's own fixed-size key and value structs
// (bpf/lb_maps.h) held inline in a hash table, with no heap-allocated key per entry.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace ironlb::dataplane {

// Keys are compared and hashed as the bytes the kernel sees. That is only right when every
// byte is defined: keys are built zeroed ({}), padding included, exactly as for the map itself.
template <typename K>
struct PodHash {
  static_assert(std::is_trivially_copyable_v<K>);
  size_t operator()(const K& k) const {
    return std::hash<std::string_view>{}(
        std::string_view(reinterpret_cast<const char*>(&k), sizeof(K)));
  }
};

template <typename K>
struct PodEq {
  bool operator()(const K& a, const K& b) const { return std::memcmp(&a, &b, sizeof(K)) == 0; }
};

template <typename K, typename V>
using PodMap = std::unordered_map<K, V, PodHash<K>, PodEq<K>>;

template <typename K>
using PodSet = std::unordered_set<K, PodHash<K>, PodEq<K>>;

// A 64-bit digest of a value's bytes: an image entry that only has to tell whether the map
// already holds a value keeps this instead of the value.
template <typename V>
uint64_t Digest(const V& v) {
  static_assert(std::is_trivially_copyable_v<V>);
  return std::hash<std::string_view>{}(
      std::string_view(reinterpret_cast<const char*>(&v), sizeof(V)));
}

template <typename T>
bool SameBytes(const T& a, const T& b) {
  static_assert(std::is_trivially_copyable_v<T>);
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

}  // namespace ironlb::dataplane

namespace ironlb::dataplane {

// An index from a key to a slot of an array whose values carry that key themselves (an
// lb_backends value holds its endpoint's identity). Only the slot ids are stored, open-addressed
// with linear probing, and a key is read back from its slot through `key_of`: 4 bytes an entry
// at a load of at most 3/4, where a node-based map cost ~60 (at 100,000 backends, ~6 MB).
// The key of an indexed slot must not change while it is indexed. Slot ids 0 and UINT32_MAX
// cannot be indexed (0 is never a backend id).
template <typename K, typename KeyOf>
class SlotIndex {
 public:
  explicit SlotIndex(KeyOf key_of) : key_of_(std::move(key_of)) {}

  // The slot indexed under `k`, or 0.
  uint32_t Find(const K& k) const {
    if (table_.empty()) return 0;
    for (size_t i = Home(k);; i = Next(i)) {
      const uint32_t v = table_[i];
      if (v == kEmpty) return 0;
      if (v != kErased && PodEq<K>{}(key_of_(v), k)) return v;
    }
  }

  // Indexes slot `id`, whose key must already read as `k`, in place of any slot under `k`.
  void Set(const K& k, uint32_t id) {
    if ((used_ + erased_ + 1) * 4 > table_.size() * 3) Rehash();
    size_t free_at = table_.size();
    for (size_t i = Home(k);; i = Next(i)) {
      const uint32_t v = table_[i];
      if (v == kErased) {
        if (free_at == table_.size()) free_at = i;
        continue;
      }
      if (v == kEmpty) {
        if (free_at == table_.size()) {
          free_at = i;
        } else {
          --erased_;  // reusing a tombstone met on the way
        }
        table_[free_at] = id;
        ++used_;
        return;
      }
      if (PodEq<K>{}(key_of_(v), k)) {
        table_[i] = id;
        return;
      }
    }
  }

  // Removes `k` when it names slot `id` (a key indexed under another slot stays).
  void EraseIf(const K& k, uint32_t id) {
    if (table_.empty()) return;
    for (size_t i = Home(k);; i = Next(i)) {
      const uint32_t v = table_[i];
      if (v == kEmpty) return;
      if (v != kErased && PodEq<K>{}(key_of_(v), k)) {
        if (v == id) {
          table_[i] = kErased;
          --used_;
          ++erased_;
        }
        return;
      }
    }
  }

  size_t size() const { return used_; }
  size_t capacity() const { return table_.size(); }

 private:
  static constexpr uint32_t kEmpty = 0;
  static constexpr uint32_t kErased = UINT32_MAX;

  size_t Home(const K& k) const { return PodHash<K>{}(k) & (table_.size() - 1); }
  size_t Next(size_t i) const { return (i + 1) & (table_.size() - 1); }

  // Drops the tombstones, and doubles when the live entries pass half the table.
  void Rehash() {
    size_t cap = table_.empty() ? 16 : table_.size();
    while ((used_ + 1) * 2 > cap) cap *= 2;
    std::vector<uint32_t> old(cap, kEmpty);
    old.swap(table_);
    for (uint32_t v : old) {
      if (v == kEmpty || v == kErased) continue;
      size_t i = Home(key_of_(v));
      while (table_[i] != kEmpty) i = Next(i);
      table_[i] = v;
    }
    erased_ = 0;
  }

  KeyOf key_of_;
  std::vector<uint32_t> table_;  // a power of two in size, or empty
  size_t used_ = 0;
  size_t erased_ = 0;
};

}  // namespace ironlb::dataplane
