// Applies a DesiredDataplane to ironlb's maps by difference. It first reads what the maps already
// hold (a restarted agent inherits the pinned maps of its predecessor), keeps backend ids, service
// ids and Maglev tables that are still right, and replaces a changed Maglev table by writing a new
// range and then switching the service to it, so in-flight packets always see a whole table.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dataplane/desired.h"
#include "dataplane/map_layout.h"
#include "dataplane/map_ops.h"
#include "dataplane/map_sync_image.h"

namespace ironlb::dataplane {

// First-fit allocator of contiguous ranges in the shared Maglev array.
class RangeAllocator {
 public:
  explicit RangeAllocator(uint32_t capacity) : capacity_(capacity) {}
  // After the last range when there is room there, else first fit; nullopt when no gap fits.
  std::optional<uint32_t> Allocate(uint32_t size);
  void Reserve(uint32_t base, uint32_t size) { used_[base] = size; }
  void Free(uint32_t base) { used_.erase(base); }
  uint32_t used() const;

 private:
  uint32_t capacity_;
  std::map<uint32_t, uint32_t> used_;  // base -> size
};

// A Service the maps have no room for: everything else is served, this one waits for room.
struct Refusal {
  ObjectRef service;
  std::string name;    // "ns/name:port" as in DesiredService
  std::string key;     // VIP:port/proto
  std::string reason;  // "service table full (16384 entries)", ...
  bool operator==(const Refusal&) const = default;
};

struct SyncStats {
  size_t backends_written = 0;
  size_t backends_removed = 0;
  size_t services_written = 0;
  size_t services_removed = 0;
  size_t tables_written = 0;
  size_t endpoints_written = 0;  // lb_endpoints: this node's endpoints
  size_t endpoints_removed = 0;
  // Local endpoints serving more VIP:ports than lb_endpoints holds (LB_ENDPOINT_VIPS): replies of
  // the flows to the others are not translated. "10.1.0.5:8080/TCP" each.
  std::vector<std::string> endpoints_over_vip_limit;
  size_t vip_addrs_written = 0;
  size_t vip_addrs_removed = 0;
  std::vector<Refusal> refused;  // in key order
  // Services this pass compared with the maps: every one in a full pass, only those changed,
  // added or removed in an incremental one.
  size_t services_diffed = 0;
};

class MapSync {
 public:
  // Reads the current contents through `ops` (which must outlive this object).
  explicit MapSync(MapOps& ops);
  // backend_ids_ reads identities from this object's own backends_.
  MapSync(const MapSync&) = delete;
  MapSync& operator=(const MapSync&) = delete;

  // A Service that does not fit (service, backend or Maglev table full) is refused
  // alone and listed in SyncStats::refused; Services already in the maps are never displaced by
  // new ones. Throws std::runtime_error on kernel errors (the next Apply retries the rest).
  SyncStats Apply(const DesiredDataplane& desired);

  nlohmann::json Summary() const;
  // Calls fn(id, value) for every backend slot in use, as written to lb_backends.
  template <typename Fn>
  void ForEachBackend(Fn fn) const {
    for (uint32_t id = 0; id < backends_.size(); ++id)
      if (backend_used_[id]) fn(id, backends_[id]);
  }

 private:
  struct ServiceState {
    lb_service value{};
    // What the table in lb_maglev was built from: the distinct backend slots it names, sorted.
    // Maglev is a pure function of that set (and the size), so this stands for the table at a
    // few bytes instead of ~4 KiB per Service.
    std::vector<uint32_t> table_slots;
    // The slot of each of its DesiredService::backends, in that order, as last applied (empty
    // for one adopted from the maps and not applied since).
    std::vector<uint32_t> ids;
    uint64_t revision = 0;  // DesiredService::revision as last applied (0: unknown)
  };
  void Load();
  void LoadServiceKeys();
  // The pass for a desired state that differs from the last in a few Services: only those are
  // diffed and written (the aggregates over all Services, lb_backends' draining flag,
  // lb_endpoints' VIP lists and lb_vip_addrs' counts, are updated from per-slot reference
  // counts and the entries the changed Services touch). It gives the maps the full pass would.
  // Returns false, having changed nothing, when it cannot tell that it would (a Service without
  // revision, one endpoint with two different values): the full pass runs then.
  bool ApplyChanged(const DesiredDataplane& desired, SyncStats* st);
  // After a full pass that refused nothing: the per-slot counts ApplyChanged starts from.
  void IndexServed(const std::vector<const DesiredService*>& served);
  // Empties one backend slot no served Service names any more.
  void FreeSlot(uint32_t id, SyncStats* st);
  // lb_endpoints and lb_vip_addrs from every served Service (in VIP order), by diff.
  void SyncEndpointsFull(const std::vector<const DesiredService*>& served, SyncStats* st);
  void SyncNode(const DesiredDataplane& desired);
  // Slots for `identities`, reusing those already held; nullopt (nothing reserved) if the
  // backend array has too few free slots.
  std::optional<std::vector<uint32_t>> ReserveBackends(
      const std::vector<lb_endpoint_key>& identities);
  // One Service; returns the reason it was refused, or nullopt once it is in the maps.
  std::optional<std::string> ApplyService(const DesiredService& s,
                                          const PodMap<lb_endpoint_key, lb_backend>& want_backends,
                                          SyncStats* st);
  bool BackendUsed(uint32_t id) const { return id < backend_used_.size() && backend_used_[id]; }
  void SetBackend(uint32_t id, const lb_backend& v);
  // The lb_endpoints value the map holds for `k`, zero when none.
  lb_endpoint_value ReadEndpoint(const lb_endpoint_key& k) const;
  void FreeBackend(uint32_t id);

  // The image of what the maps hold, in the kernel's own key and value structs: at 10,000
  // Services × 10 endpoints a map keyed by byte vectors cost ~80 MB, mostly per-entry heap keys
  // and tree nodes.
  MapOps& ops_;
  PodMap<lb_vip_key, ServiceState> services_;
  // lb_backends by id: the value, and whether the id is taken (a taken slot may still be
  // zero for a moment, reserved before it is written).
  std::vector<lb_backend> backends_;
  std::vector<bool> backend_used_;
  size_t backends_in_use_ = 0;
  // Identity (addr, port, family) -> id, each identity read from the slot's value in
  // backends_: a reserved slot holds its identity before it is written (ReserveBackends).
  struct IdentityOfSlot {
    const MapSync* sync;
    lb_endpoint_key operator()(uint32_t id) const;
  };
  SlotIndex<lb_endpoint_key, IdentityOfSlot> backend_ids_{IdentityOfSlot{this}};
  // Slots emptied in this process and not handed out since, both ways: an endpoint that
  // returns takes its own back (see ReserveBackends).
  PodMap<lb_endpoint_key, uint32_t> freed_ids_;
  std::unordered_map<uint32_t, lb_endpoint_key> freed_by_id_;
  // lb_endpoints as a digest of each value (Digest()), not the 88-byte value: at 100,000 local
  // endpoints the values were ~8 MB held only to be compared. An edit reads the value back
  // from the map (ReadEndpoint).
  PodMap<lb_endpoint_key, uint64_t> endpoints_;
  PodMap<lb_vip_addr_key, lb_vip_addr_value> vip_addrs_;
  std::optional<lb_node_addrs> node_;  // lb_node as last written
  uint32_t max_services_;
  uint32_t max_backends_;
  RangeAllocator ranges_;
  std::set<uint32_t> used_service_ids_;
  uint32_t next_backend_id_ = 1;
  uint32_t next_service_id_ = 0;
  // Valid while fast_ok_: how many applied Services name each backend slot, and how many of
  // them as ready (the slot's draining flag is "none ready"); and the endpoints over the VIP
  // limit as the last pass found them.
  std::vector<uint32_t> refs_;
  std::vector<uint32_t> ready_refs_;
  std::vector<std::string> over_vip_limit_;
  // The last pass completed, refused nothing, and every endpoint had one value across the
  // Services naming it: ApplyChanged may start from the state it left.
  bool fast_ok_ = false;
};

}  // namespace ironlb::dataplane
