// The map sync's image of a BPF map: the kernel's own fixed-size key and value structs
// (bpf/lb_maps.h) held inline in a hash table, with no heap-allocated key per entry.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

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
