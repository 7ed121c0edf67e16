// An in-memory stand-in for the kernel's maps, counting writes, for MapSync/Dataplane tests.
#pragma once

#include <map>

#include "dataplane/map_ops.h"

namespace ironlb::dataplane {

class FakeMapOps : public MapOps {
 public:
  std::optional<Bytes> Lookup(MapId map, const Bytes& key) const override {
    auto m = maps_.find(map);
    if (m == maps_.end()) return std::nullopt;
    auto it = m->second.find(key);
    if (it == m->second.end()) return std::nullopt;
    return it->second;
  }
  void Update(MapId map, const Bytes& key, const Bytes& value) override {
    maps_[map][key] = value;
    ++writes;
  }
  void Delete(MapId map, const Bytes& key) override {
    maps_[map].erase(key);
    ++writes;
  }
  std::vector<Bytes> Keys(MapId map) const override {
    std::vector<Bytes> keys;
    auto m = maps_.find(map);
    if (m != maps_.end())
      for (const auto& [k, v] : m->second) keys.push_back(k);
    return keys;
  }
  uint32_t Capacity(MapId map) const override {
    auto it = capacity.find(map);
    return it == capacity.end() ? MapOps::Capacity(map) : it->second;
  }
  size_t size(MapId map) const {
    auto m = maps_.find(map);
    return m == maps_.end() ? 0 : m->second.size();
  }

  size_t writes = 0;
  std::map<MapId, uint32_t> capacity;  // overrides of the compiled sizes

 private:
  std::map<MapId, std::map<Bytes, Bytes>> maps_;
};

}  // namespace ironlb::dataplane
