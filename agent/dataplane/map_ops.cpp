#include "dataplane/map_ops.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "dataplane/map_layout.h"

namespace ironlb::dataplane {
namespace {

constexpr MapId kAllIds[] = {MapId::kServices,    MapId::kBackends,  MapId::kMaglev,
                             MapId::kConntrack,   MapId::kEndpoints, MapId::kL2,
                             MapId::kIfaces,      MapId::kNode,      MapId::kVipAddrs,
                             MapId::kL2Live,      MapId::kVipStats,  MapId::kBackendStats,
                             MapId::kReasonStats, MapId::kL2Stats};

bool PerCpu(MapId m) {
  return m == MapId::kVipStats || m == MapId::kBackendStats || m == MapId::kReasonStats ||
         m == MapId::kL2Stats;
}

constexpr const char* kAllPinned[] = {
    LB_MAP_SERVICES,     LB_MAP_BACKENDS,  LB_MAP_MAGLEV,  LB_MAP_CONNTRACK, LB_MAP_ENDPOINTS,
    LB_MAP_L2,           LB_MAP_IFACES,    LB_MAP_NODE,    LB_MAP_VIP_STATS, LB_MAP_BACKEND_STATS,
    LB_MAP_REASON_STATS, LB_MAP_VIP_ADDRS, LB_MAP_L2_LIVE, LB_MAP_L2_STATS};

}  // namespace

const char* MapName(MapId m) {
  switch (m) {
    case MapId::kServices: return LB_MAP_SERVICES;
    case MapId::kBackends: return LB_MAP_BACKENDS;
    case MapId::kMaglev: return LB_MAP_MAGLEV;
    case MapId::kConntrack: return LB_MAP_CONNTRACK;
    case MapId::kEndpoints: return LB_MAP_ENDPOINTS;
    case MapId::kNode: return LB_MAP_NODE;
    case MapId::kVipAddrs: return LB_MAP_VIP_ADDRS;
    case MapId::kL2: return LB_MAP_L2;
    case MapId::kIfaces: return LB_MAP_IFACES;
    case MapId::kL2Live: return LB_MAP_L2_LIVE;
    case MapId::kServiceKeys: return LB_MAP_SERVICE_KEYS;
    case MapId::kVipStats: return LB_MAP_VIP_STATS;
    case MapId::kBackendStats: return LB_MAP_BACKEND_STATS;
    case MapId::kReasonStats: return LB_MAP_REASON_STATS;
    case MapId::kL2Stats: return LB_MAP_L2_STATS;
  }
  return "";
}

size_t BpfMapOps::key_size(MapId m) const {
  switch (m) {
    case MapId::kServices: return sizeof(lb_vip_key);
    case MapId::kBackends:
    case MapId::kMaglev:
    case MapId::kIfaces:
    case MapId::kNode:
    case MapId::kL2Live:
    case MapId::kServiceKeys:
    case MapId::kVipStats:
    case MapId::kBackendStats:
    case MapId::kReasonStats: return sizeof(uint32_t);
    case MapId::kConntrack: return sizeof(lb_ct_key);
    case MapId::kEndpoints: return sizeof(lb_endpoint_key);
    case MapId::kVipAddrs: return sizeof(lb_vip_addr_key);
    case MapId::kL2:
    case MapId::kL2Stats: return sizeof(lb_l2_key);
  }
  return 0;
}

uint32_t MapOps::Capacity(MapId m) const {
  switch (m) {
    case MapId::kServices: return LB_MAX_SERVICES;
    case MapId::kBackends: return LB_MAX_BACKENDS;
    case MapId::kMaglev: return LB_MAGLEV_RING_ENTRIES;
    case MapId::kConntrack: return LB_CT_ENTRIES;
    case MapId::kEndpoints: return LB_MAX_BACKENDS;
    case MapId::kNode: return 1;
    case MapId::kVipAddrs: return LB_MAX_SERVICES;
    case MapId::kL2: return LB_MAX_L2_ENTRIES;
    case MapId::kIfaces: return LB_MAX_IFACES;
    case MapId::kL2Live: return 1;
    case MapId::kServiceKeys: return LB_MAX_SERVICES;
    case MapId::kVipStats: return LB_MAX_SERVICES;
    case MapId::kBackendStats: return LB_MAX_BACKENDS;
    case MapId::kReasonStats: return LB_R_MAX;
    case MapId::kL2Stats: return LB_MAX_L2_ENTRIES;
  }
  return 0;
}

uint32_t BpfMapOps::Capacity(MapId m) const {
  bpf_map_info info{};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd(m), &info, &len) != 0) return MapOps::Capacity(m);
  return info.max_entries;
}

size_t BpfMapOps::value_size(MapId m) const {
  switch (m) {
    case MapId::kServices: return sizeof(lb_service);
    case MapId::kBackends: return sizeof(lb_backend);
    case MapId::kMaglev: return sizeof(uint32_t);
    case MapId::kConntrack: return sizeof(lb_ct_value);
    case MapId::kEndpoints: return sizeof(lb_endpoint_value);
    case MapId::kNode: return sizeof(lb_node_addrs);
    case MapId::kVipAddrs: return sizeof(lb_vip_addr_value);
    case MapId::kL2: return sizeof(lb_l2_value);
    case MapId::kIfaces: return sizeof(lb_iface);
    case MapId::kL2Live: return sizeof(lb_l2_live);
    case MapId::kServiceKeys: return sizeof(lb_vip_key);
    case MapId::kVipStats:
    case MapId::kBackendStats:
    case MapId::kReasonStats: return sizeof(lb_counter);
    case MapId::kL2Stats: return sizeof(lb_l2_counter);
  }
  return 0;
}

size_t BpfMapOps::lookup_size(MapId m) const {
  if (!PerCpu(m)) return value_size(m);
  const int cpus = libbpf_num_possible_cpus();
  return ((value_size(m) + 7) & ~size_t{7}) * static_cast<size_t>(cpus > 0 ? cpus : 1);
}

int BpfMapOps::fd(MapId m) const {
  auto it = fds_.find(m);
  if (it == fds_.end() || it->second < 0)
    throw std::runtime_error(std::string("map not open: ") + MapName(m));
  return it->second;
}

std::optional<Bytes> BpfMapOps::Lookup(MapId map, const Bytes& key) const {
  Bytes v(lookup_size(map));
  if (bpf_map_lookup_elem(fd(map), key.data(), v.data()) != 0) return std::nullopt;
  return v;
}

void BpfMapOps::Update(MapId map, const Bytes& key, const Bytes& value) {
  if (key.size() != key_size(map) || value.size() != value_size(map))
    throw std::runtime_error(std::string("bad key/value size for ") + MapName(map));
  if (bpf_map_update_elem(fd(map), key.data(), value.data(), BPF_ANY) != 0)
    throw std::runtime_error(std::string("cannot update ") + MapName(map) + ": " +
                             std::to_string(errno));
}

void BpfMapOps::Delete(MapId map, const Bytes& key) {
  if (bpf_map_delete_elem(fd(map), key.data()) != 0 && errno != ENOENT)
    throw std::runtime_error(std::string("cannot delete from ") + MapName(map) + ": " +
                             std::to_string(errno));
}

namespace {

// Slots [first, first + n) of a mappable array, mapped for one read only: a mapping of the whole
// array would count its pages (up to 128 MiB) in the agent's resident memory.
class SlotWindow {
 public:
  SlotWindow(int fd, size_t stride, uint32_t first, uint32_t n, int prot) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t begin = size_t{first} * stride, end = (size_t{first} + n) * stride;
    const size_t offset = begin / page * page;
    bytes_ = (end - offset + page - 1) / page * page;
    void* p = mmap(nullptr, bytes_, prot, MAP_SHARED, fd, static_cast<off_t>(offset));
    if (p == MAP_FAILED) return;
    base_ = static_cast<uint8_t*>(p);
    slots_ = base_ + (begin - offset);
  }
  ~SlotWindow() {
    if (base_ != nullptr) munmap(base_, bytes_);
  }
  SlotWindow(const SlotWindow&) = delete;
  SlotWindow& operator=(const SlotWindow&) = delete;
  uint8_t* slots() const { return slots_; }  // null when the map could not be mapped

 private:
  uint8_t* base_ = nullptr;
  uint8_t* slots_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace

BpfMapOps::BpfMapOps(std::map<MapId, int> fds) : fds_(std::move(fds)) {}

BpfMapOps::~BpfMapOps() {
  EndPass();
}

void BpfMapOps::EndPass() {
  if (window_.base != nullptr) munmap(window_.base, window_.end - window_.begin);
  window_ = Window{};
}

uint8_t* BpfMapOps::WriteWindow(const Mapping& m, size_t begin, size_t end) {
  if (window_.base != nullptr && begin >= window_.begin && end <= window_.end)
    return window_.base + (begin - window_.begin);
  EndPass();
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t total = (size_t{m.entries} * m.stride + page - 1) / page * page;
  // Aligned to the window's size, so that tables laid out one after another (as a cold start
  // allocates them) share one window.
  const size_t from = begin / kWindowBytes * kWindowBytes;
  const size_t to = std::min(total, std::max(from + kWindowBytes, (end + page - 1) / page * page));
  void* p = mmap(nullptr, to - from, PROT_READ | PROT_WRITE, MAP_SHARED, fd(MapId::kMaglev),
                 static_cast<off_t>(from));
  if (p == MAP_FAILED) return nullptr;
  window_ = Window{static_cast<uint8_t*>(p), from, to};
  return window_.base + (begin - from);
}

const BpfMapOps::Mapping* BpfMapOps::mapping(MapId map) const {
  // Only the Maglev array is written in bulk. A pin from an older agent may lack the flag; then
  // the batch path serves, as before.
  if (map != MapId::kMaglev) return nullptr;
  if (!mapping_checked_) {
    mapping_checked_ = true;
    auto it = fds_.find(MapId::kMaglev);
    bpf_map_info info{};
    __u32 len = sizeof(info);
    if (it != fds_.end() && it->second >= 0 &&
        bpf_obj_get_info_by_fd(it->second, &info, &len) == 0 && info.type == BPF_MAP_TYPE_ARRAY &&
        (info.map_flags & BPF_F_MMAPABLE) != 0 && info.value_size == sizeof(uint32_t))
      mapping_ = Mapping{(info.value_size + 7) & ~size_t{7}, info.max_entries};
  }
  return mapping_ ? &*mapping_ : nullptr;
}

void BpfMapOps::UpdateRange(MapId map, uint32_t first, const std::vector<uint32_t>& values) {
  if (values.empty()) return;
  if (const Mapping* m = mapping(map); m != nullptr) {
    if (uint64_t{first} + values.size() > m->entries)
      throw std::runtime_error(std::string("range past the end of ") + MapName(map));
    const size_t begin = size_t{first} * m->stride;
    if (uint8_t* at = WriteWindow(*m, begin, begin + values.size() * m->stride); at != nullptr) {
      // The program reads these slots only once the service update that follows names them,
      // and that update is a syscall (a full barrier), so plain stores are enough.
      for (uint32_t v : values) {
        std::memcpy(at, &v, sizeof v);
        at += m->stride;
      }
      return;
    }
  }
  std::vector<uint32_t> keys(values.size());
  for (uint32_t i = 0; i < keys.size(); ++i) keys[i] = first + i;
  uint32_t count = static_cast<uint32_t>(values.size());
  if (bpf_map_update_batch(fd(map), keys.data(), values.data(), &count, nullptr) == 0 &&
      count == values.size())
    return;
  MapOps::UpdateRange(map, first, values);  // kernels without batch ops for arrays
}

std::vector<uint32_t> BpfMapOps::LookupRange(MapId map, uint32_t first, uint32_t n) const {
  if (n == 0) return {};
  if (const Mapping* m = mapping(map); m != nullptr && uint64_t{first} + n <= m->entries) {
    // Read-only: ironlbctl may hold a map it can only read.
    SlotWindow w(fd(map), m->stride, first, n, PROT_READ);
    if (const uint8_t* at = w.slots(); at != nullptr) {
      std::vector<uint32_t> out(n);
      for (uint32_t& v : out) {
        std::memcpy(&v, at, sizeof v);
        at += m->stride;
      }
      return out;
    }
  }
  // The generic batch walk continues after the key in `in_batch` (from the start when null).
  std::vector<uint32_t> keys(n), values(n);
  uint32_t count = n, out_batch = 0, prev = first - 1;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  if (bpf_map_lookup_batch(fd(map), first == 0 ? nullptr : &prev, &out_batch, keys.data(),
                           values.data(), &count, &opts) == 0 &&
      count == n && keys.front() == first)
    return values;
  return MapOps::LookupRange(map, first, n);
}

std::vector<Bytes> BpfMapOps::Keys(MapId map) const {
  std::vector<Bytes> keys;
  Bytes cur, next(key_size(map));
  while (bpf_map_get_next_key(fd(map), cur.empty() ? nullptr : cur.data(), next.data()) == 0) {
    keys.push_back(next);
    cur = next;
  }
  return keys;
}

void BpfMapOps::ForEach(MapId map,
                        const std::function<void(const Bytes& key, const Bytes& value)>& f) const {
  constexpr uint32_t kChunk = 4096;
  const size_t ks = key_size(map), vs = lookup_size(map);
  Bytes keys(ks * kChunk), values(vs * kChunk), in_batch(ks), out_batch(ks);
  Bytes key(ks), value(vs);
  bool first = true;  // the first call starts the walk (no in_batch)
  for (;;) {
    uint32_t count = kChunk;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    const int err =
        bpf_map_lookup_batch(fd(map), first ? nullptr : in_batch.data(), out_batch.data(),
                             keys.data(), values.data(), &count, &opts);
    // No batch operations for this map on this kernel: the key walk. (Should a batch walk
    // break off midway, which the kernel does only for a bucket larger than kChunk, the key walk
    // repeats what was already seen: these readers list and count for people, not for state.)
    if (err != 0 && errno != ENOENT) return MapOps::ForEach(map, f);
    for (uint32_t i = 0; i < count; ++i) {
      std::memcpy(key.data(), keys.data() + i * ks, ks);
      std::memcpy(value.data(), values.data() + i * vs, vs);
      f(key, value);
    }
    if (err != 0) return;  // ENOENT: the walk reached the end
    in_batch = out_batch;
    first = false;
  }
}

size_t BpfMapOps::Count(MapId map) const {
  size_t n = 0;
  ForEach(map, [&](const Bytes&, const Bytes&) { ++n; });
  return n;
}

PinnedMaps::PinnedMaps(const std::string& dir) {
  for (const char* name : kAllPinned) {
    const std::string path = dir + "/" + name;
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) {
      for (auto& [n, f] : fds_) close(f);
      throw std::runtime_error("cannot open pinned map " + path +
                               " (is the data plane loaded? see --bpffs)");
    }
    fds_[name] = fd;
  }
  ops_ = std::make_unique<BpfMapOps>(ids());
}

PinnedMaps::~PinnedMaps() {
  for (auto& [n, f] : fds_) close(f);
}

int PinnedMaps::fd(const std::string& name) const {
  auto it = fds_.find(name);
  return it == fds_.end() ? -1 : it->second;
}

std::map<MapId, int> PinnedMaps::ids() const {
  std::map<MapId, int> out;
  for (MapId m : kAllIds) out[m] = fd(MapName(m));
  return out;
}

}  // namespace ironlb::dataplane
