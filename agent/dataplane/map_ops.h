// The narrow kernel interface of the data plane: byte-level operations on ironlb's maps. The
// agent uses the libbpf implementation (BpfMapOps); tests use an in-memory fake.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ironlb::dataplane {

enum class MapId {
  kServices,
  kBackends,
  kMaglev,
  kConntrack,
  kEndpoints,
  kL2,
  kIfaces,
  kNode,
  kVipAddrs,
  kL2Live,
  kServiceKeys,  // lb_service.id -> lb_vip_key (array)
  // Per-CPU counters (lb_counter): a Lookup returns every possible CPU's value in turn, each
  // padded to 8 bytes as the kernel lays them out (SumCounters adds them up).
  kVipStats,
  kBackendStats,
  kReasonStats,
  kL2Stats,  // per-CPU lb_l2_counter by lb_l2_key
};

using Bytes = std::vector<uint8_t>;

class MapOps {
 public:
  virtual ~MapOps() = default;
  virtual std::optional<Bytes> Lookup(MapId map, const Bytes& key) const = 0;
  // Throws std::runtime_error when the kernel refuses (full map, bad key).
  virtual void Update(MapId map, const Bytes& key, const Bytes& value) = 0;
  virtual void Delete(MapId map, const Bytes& key) = 0;
  // Every key of a hash map (arrays are read with Lookup by index).
  virtual std::vector<Bytes> Keys(MapId map) const = 0;
  // Every entry, in the map's own order (an array: every index). Implementations may read in
  // batches; an entry deleted meanwhile may be missed, as with any walk of a live map.
  virtual void ForEach(MapId map,
                       const std::function<void(const Bytes& key, const Bytes& value)>& f) const {
    for (const Bytes& k : Keys(map))
      if (auto v = Lookup(map, k)) f(k, *v);
  }
  // How many entries the map holds now.
  virtual size_t Count(MapId map) const { return Keys(map).size(); }
  // The map's max_entries as created (a flag may have sized it; pinned maps keep their size).
  virtual uint32_t Capacity(MapId map) const;
  // Writes consecutive u32 slots [first, first + values.size()) of an array map.
  virtual void UpdateRange(MapId map, uint32_t first, const std::vector<uint32_t>& values) {
    for (uint32_t i = 0; i < values.size(); ++i)
      Update(map, ToBytesU32(first + i), ToBytesU32(values[i]));
  }
  // A pass of writes is over: let go of what it held for its writes (a mapping). Writes after
  // it stay valid; they hold it again.
  virtual void EndPass() {}
  // Reads consecutive u32 slots of an array map (missing slots read as 0).
  virtual std::vector<uint32_t> LookupRange(MapId map, uint32_t first, uint32_t n) const {
    std::vector<uint32_t> out(n);
    for (uint32_t i = 0; i < n; ++i)
      if (auto v = Lookup(map, ToBytesU32(first + i)))
        std::memcpy(&out[i], v->data(), sizeof(uint32_t));
    return out;
  }

 protected:
  static Bytes ToBytesU32(uint32_t v) {
    Bytes b(sizeof(v));
    std::memcpy(b.data(), &v, sizeof(v));
    return b;
  }
};

template <typename T>
Bytes ToBytes(const T& v) {
  Bytes b(sizeof(T));
  std::memcpy(b.data(), &v, sizeof(T));
  return b;
}

template <typename T>
T FromBytes(const Bytes& b) {
  T v{};
  std::memcpy(&v, b.data(), std::min(sizeof(T), b.size()));
  return v;
}

// Map operations on map file descriptors (owned elsewhere: the skeletons or opened pins).
class BpfMapOps : public MapOps {
 public:
  explicit BpfMapOps(std::map<MapId, int> fds);
  BpfMapOps(const BpfMapOps&) = delete;  // owns the write window's mapping
  BpfMapOps& operator=(const BpfMapOps&) = delete;
  std::optional<Bytes> Lookup(MapId map, const Bytes& key) const override;
  void Update(MapId map, const Bytes& key, const Bytes& value) override;
  void Delete(MapId map, const Bytes& key) override;
  std::vector<Bytes> Keys(MapId map) const override;
  // In batches of a few thousand entries (one syscall each), falling back to the key walk on
  // kernels or map types without batch operations.
  void ForEach(MapId map,
               const std::function<void(const Bytes& key, const Bytes& value)>& f) const override;
  size_t Count(MapId map) const override;
  uint32_t Capacity(MapId map) const override;
  // Plain stores into the mapped array when the map is mappable (BPF_F_MMAPABLE), else one
  // bpf_map_update_batch call per table instead of one syscall per slot.
  void UpdateRange(MapId map, uint32_t first, const std::vector<uint32_t>& values) override;
  // Unmaps the write window (below).
  void EndPass() override;
  std::vector<uint32_t> LookupRange(MapId map, uint32_t first, uint32_t n) const override;
  ~BpfMapOps() override;

 private:
  // The Maglev array's layout, once known to be mappable (BPF_F_MMAPABLE). Writes go through a
  // window of it that stays mapped until the pass ends (EndPass) or a write falls outside it:
  // a map and an unmap per table were ~8 % of a 10,000-Service first sync (each unmap of a
  // written shared mapping flushes the TLB of every CPU). Unmapped at the end of each pass, the
  // array's pages never stay in the agent's resident memory.
  struct Mapping {
    size_t stride = 0;  // the kernel lays array values out rounded up to 8 bytes
    uint32_t entries = 0;
  };
  struct Window {
    uint8_t* base = nullptr;  // the mapping, covering array bytes [begin, end)
    size_t begin = 0;
    size_t end = 0;
  };
  static constexpr size_t kWindowBytes = size_t{2} << 20;
  // The window holding array bytes [begin, end), mapped anew if needed; null if it cannot be.
  uint8_t* WriteWindow(const Mapping& m, size_t begin, size_t end);
  const Mapping* mapping(MapId m) const;

  int fd(MapId m) const;
  size_t value_size(MapId m) const;   // one CPU's value for per-CPU maps
  size_t lookup_size(MapId m) const;  // what a lookup fills: every CPU's for per-CPU maps
  size_t key_size(MapId m) const;
  std::map<MapId, int> fds_;
  // Read from the map once: set when mappable, and `mapping_checked_` either way.
  mutable std::optional<Mapping> mapping_;
  mutable bool mapping_checked_ = false;
  Window window_;
};

// The pinned map's file name (LB_MAP_*) for each id.
const char* MapName(MapId m);

// Opens the pinned maps under `dir` (ironlbctl, agent restarts); throws when a pin is missing.
// The returned fds are closed by the holder.
class PinnedMaps {
 public:
  explicit PinnedMaps(const std::string& dir);
  ~PinnedMaps();
  PinnedMaps(const PinnedMaps&) = delete;
  PinnedMaps& operator=(const PinnedMaps&) = delete;
  int fd(const std::string& name) const;  // any LB_MAP_* name, -1 if absent
  std::map<MapId, int> ids() const;
  // The maps behind the narrow interface: every reader (ironlbctl, metrics) goes through it.
  // (Not const: a reader may prune, as the L2 counters' reader drops VIPs gone.)
  MapOps& ops() const { return *ops_; }

 private:
  std::map<std::string, int> fds_;
  std::unique_ptr<BpfMapOps> ops_;
};

}  // namespace ironlb::dataplane
