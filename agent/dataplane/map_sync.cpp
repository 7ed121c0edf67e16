#include "dataplane/map_sync.h"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

namespace ironlb::dataplane {
namespace {

// Id 0 never names a backend, so a zeroed Maglev slot can never look valid.
constexpr uint32_t kFirstBackendId = 1;

void FillAddr(__be32 dst[4], const IPAddr& a) {
  std::memset(dst, 0, 4 * sizeof(__be32));
  auto b = a.bytes();
  std::memcpy(dst, b.data(), a.is_v4() ? 4 : 16);
}

uint8_t FamilyOf(const IPAddr& a) {
  return a.is_v4() ? LB_FAMILY_V4 : LB_FAMILY_V6;
}

lb_vip_key VipKeyOf(const DesiredService& s) {
  lb_vip_key k{};
  FillAddr(k.addr, s.vip);
  k.port = htobe16(s.port);
  k.proto = static_cast<uint8_t>(s.proto);
  k.family = FamilyOf(s.vip);
  return k;
}

// What makes two backend slots the same endpoint: address, port and family (not the protocol:
// DNAT does not care, and TCP+UDP on one endpoint then share one slot and one counter).
lb_endpoint_key Identity(const lb_backend& b) {
  lb_endpoint_key k{};
  std::memcpy(k.addr, b.addr, sizeof(k.addr));
  k.port = b.port;
  k.family = b.family;
  return k;
}

// The same identity straight from the desired endpoint (no lb_backend built).
lb_endpoint_key Identity(const DesiredBackend& d) {
  lb_endpoint_key k{};
  FillAddr(k.addr, d.addr);
  k.port = htobe16(d.port);
  k.family = FamilyOf(d.addr);
  return k;
}

lb_backend BackendValue(const DesiredBackend& d, bool draining) {
  lb_backend b{};
  FillAddr(b.addr, d.addr);
  b.port = htobe16(d.port);
  b.family = FamilyOf(d.addr);
  b.action = d.tunnel ? LB_ACTION_ENCAP : LB_ACTION_LOCAL;
  if (d.tunnel) FillAddr(b.tunnel, *d.tunnel);
  b.flags = draining ? LB_BACKEND_F_DRAINING : 0;
  return b;
}

}  // namespace

std::optional<uint32_t> RangeAllocator::Allocate(uint32_t size) {
  // Past the last table first: O(log n). Only when the end of the array is reached are the gaps
  // that replaced and removed tables left searched, first fit. (A first-fit walk from the start
  // for every table made 10,000 Services cost seconds.)
  const uint32_t tail = used_.empty() ? 0 : used_.rbegin()->first + used_.rbegin()->second;
  if (tail + static_cast<uint64_t>(size) <= capacity_) {
    used_[tail] = size;
    return tail;
  }
  uint32_t next = 0;
  for (const auto& [base, len] : used_) {
    if (base - next >= size) break;
    next = base + len;
  }
  if (next + static_cast<uint64_t>(size) > capacity_) return std::nullopt;
  used_[next] = size;
  return next;
}

uint32_t RangeAllocator::used() const {
  uint32_t n = 0;
  for (const auto& [b, s] : used_) n += s;
  return n;
}

MapSync::MapSync(MapOps& ops)
    : ops_(ops),
      max_services_(ops.Capacity(MapId::kServices)),
      max_backends_(ops.Capacity(MapId::kBackends)),
      ranges_(ops.Capacity(MapId::kMaglev)) {
  Load();
}

namespace {

std::vector<uint32_t> DistinctSlots(std::vector<uint32_t> table) {
  std::sort(table.begin(), table.end());
  table.erase(std::unique(table.begin(), table.end()), table.end());
  return table;
}

}  // namespace

void MapSync::Load() {
  for (const Bytes& kb : ops_.Keys(MapId::kServices)) {
    auto v = ops_.Lookup(MapId::kServices, kb);
    if (!v) continue;
    ServiceState st;
    st.value = FromBytes<lb_service>(*v);
    if (st.value.maglev_size > 0 &&
        static_cast<uint64_t>(st.value.maglev_base) + st.value.maglev_size <=
            ops_.Capacity(MapId::kMaglev)) {
      ranges_.Reserve(st.value.maglev_base, st.value.maglev_size);
      st.table_slots = DistinctSlots(
          ops_.LookupRange(MapId::kMaglev, st.value.maglev_base, st.value.maglev_size));
    }
    used_service_ids_.insert(st.value.id);
    services_[FromBytes<lb_vip_key>(kb)] = std::move(st);
  }
  LoadServiceKeys();
  // Backends live in an array: every slot exists, the used ones have an action. Read in batches
  // (one syscall per few thousand slots, not one per slot).
  uint32_t last_used = 0;
  ops_.ForEach(MapId::kBackends, [&](const Bytes& k, const Bytes& v) {
    const auto id = FromBytes<uint32_t>(k);
    if (id < kFirstBackendId || id >= max_backends_) return;
    auto b = FromBytes<lb_backend>(v);
    if (b.action == LB_ACTION_NONE) return;
    SetBackend(id, b);
    backend_ids_.Set(Identity(b), id);
    last_used = std::max(last_used, id);
  });
  // Past the last slot in use: a restarted agent hands out slots no live flow may still name.
  if (last_used) next_backend_id_ = last_used + 1 < max_backends_ ? last_used + 1 : kFirstBackendId;
  if (auto v = ops_.Lookup(MapId::kNode, ToBytes(uint32_t{0})))
    node_ = FromBytes<lb_node_addrs>(*v);
  ops_.ForEach(MapId::kEndpoints, [&](const Bytes& k, const Bytes& v) {
    endpoints_[FromBytes<lb_endpoint_key>(k)] = Digest(FromBytes<lb_endpoint_value>(v));
  });
  ops_.ForEach(MapId::kVipAddrs, [&](const Bytes& k, const Bytes& v) {
    vip_addrs_[FromBytes<lb_vip_addr_key>(k)] = FromBytes<lb_vip_addr_value>(v);
  });
}

// lb_service_keys (lb_maps.h) must name every adopted service by its id and nothing else: pins of
// an older agent have no such map (it starts empty), and one stopped mid-way may have left a slot.
void MapSync::LoadServiceKeys() {
  std::map<uint32_t, lb_vip_key> want;
  for (const auto& [key, st] : services_) want[st.value.id] = key;
  ops_.ForEach(MapId::kServiceKeys, [&](const Bytes& k, const Bytes& v) {
    const auto id = FromBytes<uint32_t>(k);
    const auto have = FromBytes<lb_vip_key>(v);
    auto w = want.find(id);
    if (w != want.end()) {
      if (SameBytes(w->second, have)) want.erase(w);
    } else if (!SameBytes(have, lb_vip_key{})) {
      ops_.Update(MapId::kServiceKeys, k, ToBytes(lb_vip_key{}));
    }
  });
  for (const auto& [id, key] : want) ops_.Update(MapId::kServiceKeys, ToBytes(id), ToBytes(key));
}

void MapSync::SetBackend(uint32_t id, const lb_backend& v) {
  if (id >= backends_.size()) {
    backends_.resize(id + 1);
    backend_used_.resize(id + 1);
  }
  if (!backend_used_[id]) ++backends_in_use_;
  backend_used_[id] = true;
  backends_[id] = v;
}

lb_endpoint_key MapSync::IdentityOfSlot::operator()(uint32_t id) const {
  return Identity(sync->backends_[id]);
}

void MapSync::FreeBackend(uint32_t id) {
  if (!BackendUsed(id)) return;
  backend_used_[id] = false;
  backends_[id] = lb_backend{};
  --backends_in_use_;
}

std::optional<std::vector<uint32_t>> MapSync::ReserveBackends(
    const std::vector<lb_endpoint_key>& identities) {
  // One lookup per endpoint; kNone marks those that need a slot.
  constexpr uint32_t kNone = 0;  // never a backend id (kFirstBackendId is 1)
  std::vector<uint32_t> ids;
  ids.reserve(identities.size());
  size_t missing = 0;
  static_assert(kNone == 0, "SlotIndex::Find answers 0 for none");
  for (const auto& identity : identities) {
    ids.push_back(backend_ids_.Find(identity));
    missing += ids.back() == kNone;
  }
  const size_t usable = max_backends_ > kFirstBackendId ? max_backends_ - kFirstBackendId : 0;
  if (backends_in_use_ + missing > usable) return std::nullopt;
  for (size_t i = 0; i < identities.size(); ++i) {
    if (ids[i] != kNone) continue;
    if (const uint32_t held = backend_ids_.Find(identities[i])) {
      ids[i] = held;  // listed twice: reserved a moment ago
      continue;
    }
    auto next = [&](uint32_t id) { return id + 1 < max_backends_ ? id + 1 : kFirstBackendId; };
    // Conntrack entries name slots, and outlive them: an endpoint that comes back (scaled to
    // zero and up again) gets the slot it had, so its live flows find it again; and a new one
    // takes the next slot never used since, so no live flow is handed to the wrong endpoint.
    // (Handing the slot just freed to the next endpoint lost every flow of the endpoint that
    // had held it when all endpoints of a Service went and came back.)
    uint32_t id = 0;
    if (auto was = freed_ids_.find(identities[i]);
        was != freed_ids_.end() && !BackendUsed(was->second)) {
      id = was->second;
    } else {
      // Next-fit from the last id handed out: linear in the array once, not once per backend.
      while (BackendUsed(next_backend_id_)) next_backend_id_ = next(next_backend_id_);
      id = next_backend_id_;
      next_backend_id_ = next(id);
    }
    if (auto held = freed_by_id_.find(id); held != freed_by_id_.end()) {
      freed_ids_.erase(held->second);
      freed_by_id_.erase(held);
    }
    // Reserved, written by the caller; it holds its identity meanwhile (backend_ids_ reads it),
    // with no action, as a slot not written yet.
    lb_backend reserved{};
    std::memcpy(reserved.addr, identities[i].addr, sizeof(reserved.addr));
    reserved.port = identities[i].port;
    reserved.family = identities[i].family;
    SetBackend(id, reserved);
    backend_ids_.Set(identities[i], id);
    ids[i] = id;
  }
  return ids;
}

std::optional<std::string> MapSync::ApplyService(
    const DesiredService& s, const PodMap<lb_endpoint_key, lb_backend>& want_backends,
    SyncStats* st) {
  const lb_vip_key key = VipKeyOf(s);
  auto cur = services_.find(key);
  if (cur == services_.end() && services_.size() >= max_services_)
    return "service table full (" + std::to_string(max_services_) + " entries)";

  // 1. Backend slots, written before any table can name them.
  std::vector<lb_endpoint_key> identities;
  identities.reserve(s.backends.size());
  for (const auto& b : s.backends) identities.push_back(Identity(b));
  auto ids = ReserveBackends(identities);
  if (!ids) return "backend table full (" + std::to_string(max_backends_) + " slots)";
  std::vector<uint32_t> ready_slots;
  ready_slots.reserve(s.backends.size());
  for (size_t i = 0; i < s.backends.size(); ++i) {
    const uint32_t id = (*ids)[i];
    const lb_backend& v = want_backends.at(identities[i]);
    if (!SameBytes(backends_[id], v)) {
      ops_.Update(MapId::kBackends, ToBytes(id), ToBytes(v));
      backends_[id] = v;
      ++st->backends_written;
    }
    if (!s.backends[i].draining) ready_slots.push_back(id);
  }
  ready_slots = DistinctSlots(std::move(ready_slots));

  // 2. The table: rebuilt only when the ready set changed, written beside the old one, and
  // switched to by the service update so in-flight packets always see a whole table.
  lb_service v{};
  const bool same_table = cur != services_.end() && cur->second.table_slots == ready_slots;
  if (same_table) {
    v = cur->second.value;
  } else {
    // Maglev names backends by their text id; the slot of each, only for a table being built
    // (formatting 100,000 ids on every pass was most of an unchanged pass), formatted once for
    // both.
    std::vector<std::string> names;
    names.reserve(s.backends.size());
    for (const auto& b : s.backends) names.push_back(b.id(s.proto));
    std::map<std::string, uint32_t> slot_of;
    for (size_t i = 0; i < s.backends.size(); ++i) slot_of[names[i]] = (*ids)[i];
    const maglev::Table table = s.BuildTable(names);
    // One lookup per backend, not per entry: 10,000 tables are ~10 M entries.
    std::vector<uint32_t> slot_by_index;
    slot_by_index.reserve(table.backends.size());
    for (const auto& b : table.backends) slot_by_index.push_back(slot_of.at(b.id));
    std::vector<uint32_t> entries;
    entries.reserve(table.entries.size());
    for (uint32_t e : table.entries) entries.push_back(slot_by_index.at(e));
    v.backend_count = static_cast<uint32_t>(table.backends.size());
    v.maglev_size = static_cast<uint32_t>(entries.size());
    if (!entries.empty()) {
      auto base = ranges_.Allocate(v.maglev_size);
      if (!base)
        return "Maglev array full (no room for " + std::to_string(v.maglev_size) + " entries)";
      v.maglev_base = *base;
      ops_.UpdateRange(MapId::kMaglev, v.maglev_base, entries);
      ++st->tables_written;
    }
  }
  if (cur != services_.end()) {
    v.id = cur->second.value.id;
  } else {
    // Next-fit from the last id handed out (the capacity check above guarantees a free one).
    while (used_service_ids_.count(next_service_id_))
      next_service_id_ = next_service_id_ + 1 < max_services_ ? next_service_id_ + 1 : 0;
    v.id = next_service_id_;
    used_service_ids_.insert(v.id);
  }
  if (cur == services_.end() || !SameBytes(cur->second.value, v)) {
    ops_.Update(MapId::kServices, ToBytes(key), ToBytes(v));  // the atomic switch to the new table
    ++st->services_written;
  }
  // The id's VIP:port, which conntrack hits check instead of looking the service up: written only
  // once the service exists, so a hit never confirms a service the map does not hold.
  if (cur == services_.end()) ops_.Update(MapId::kServiceKeys, ToBytes(v.id), ToBytes(key));
  if (cur != services_.end() && !same_table && cur->second.value.maglev_size > 0)
    ranges_.Free(cur->second.value.maglev_base);
  if (cur != services_.end()) {
    cur->second = ServiceState{v, std::move(ready_slots), std::move(*ids), s.revision};
  } else {
    services_.emplace(key, ServiceState{v, std::move(ready_slots), std::move(*ids), s.revision});
  }
  return std::nullopt;
}

namespace {

// What an image keeps of a value: the value itself, or (for lb_endpoints) its digest.
template <typename V>
const V& ImageOf(const V& v, const V*) {
  return v;
}
inline uint64_t ImageOf(const lb_endpoint_value& v, const uint64_t*) {
  return Digest(v);
}

// A plain key/value map brought to `want`: changed and new entries written, the rest deleted.
template <typename K, typename V, typename I>
void SyncMap(MapOps& ops, MapId id, PodMap<K, I>& have, const PodMap<K, V>& want, size_t& written,
             size_t& removed) {
  for (const auto& [k, v] : want) {
    const I img = ImageOf(v, static_cast<const I*>(nullptr));
    auto it = have.find(k);
    if (it != have.end() && SameBytes(it->second, img)) continue;
    ops.Update(id, ToBytes(k), ToBytes(v));
    have[k] = img;
    ++written;
  }
  for (auto it = have.begin(); it != have.end();) {
    if (want.count(it->first)) {
      ++it;
      continue;
    }
    ops.Delete(id, ToBytes(it->first));
    ++removed;
    it = have.erase(it);
  }
}

// The lb_endpoints key of a local endpoint of a Service with protocol `proto`.
template <typename Proto>
lb_endpoint_key LocalEndpointKey(const DesiredBackend& b, Proto proto) {
  lb_endpoint_key k{};
  FillAddr(k.addr, b.addr);
  k.port = htobe16(b.port);
  k.proto = static_cast<uint8_t>(proto);
  k.family = FamilyOf(b.addr);
  return k;
}

// One entry of a plain key/value map brought to `v`, or deleted when `gone`.
template <typename K, typename V, typename I>
void PutEntry(MapOps& ops, MapId id, PodMap<K, I>& have, const K& k, const V& v, bool gone,
              size_t& written, size_t& removed) {
  auto cur = have.find(k);
  if (gone) {
    if (cur == have.end()) return;
    ops.Delete(id, ToBytes(k));
    ++removed;
    have.erase(cur);
    return;
  }
  const I img = ImageOf(v, static_cast<const I*>(nullptr));
  if (cur == have.end() || !SameBytes(cur->second, img)) {
    ops.Update(id, ToBytes(k), ToBytes(v));
    have[k] = img;
    ++written;
  }
}

}  // namespace

void MapSync::FreeSlot(uint32_t id, SyncStats* st) {
  const lb_backend& b = backends_[id];
  const lb_endpoint_key identity = Identity(b);
  if (b.action != LB_ACTION_NONE) {
    ops_.Update(MapId::kBackends, ToBytes(id), ToBytes(lb_backend{}));
    ++st->backends_removed;
    if (auto old = freed_by_id_.find(id); old != freed_by_id_.end()) freed_ids_.erase(old->second);
    if (auto old = freed_ids_.find(identity); old != freed_ids_.end())
      freed_by_id_.erase(old->second);  // freed before from another slot: this one is newer
    freed_ids_[identity] = id;
    freed_by_id_[id] = identity;
  }
  backend_ids_.EraseIf(identity, id);
  FreeBackend(id);
}

SyncStats MapSync::Apply(const DesiredDataplane& desired) {
  // However the pass ends, what it held for its writes is let go.
  struct EndPass {
    MapOps& ops;
    ~EndPass() { ops.EndPass(); }
  } end_pass{ops_};
  SyncStats st;
  if (fast_ok_) {
    fast_ok_ = false;  // until a pass completes: a kernel error mid-way leaves the counts unknown
    if (ApplyChanged(desired, &st)) return st;
  }
  size_t n_backends = 0;
  for (const auto& s : desired.services) n_backends += s.backends.size();
  // The value every wanted backend slot should hold: ready in any Service wins over draining.
  PodMap<lb_endpoint_key, lb_backend> want_backends;
  want_backends.reserve(n_backends);
  for (const auto& s : desired.services)
    for (const auto& b : s.backends) {
      lb_backend v = BackendValue(b, b.draining);
      auto [it, inserted] = want_backends.emplace(Identity(v), v);
      if (!inserted && !b.draining) it->second.flags &= ~LB_BACKEND_F_DRAINING;
    }

  st.services_diffed = desired.services.size();
  // 1. Services no longer wanted go first: they make room for the ones that are.
  PodSet<lb_vip_key> wanted;
  wanted.reserve(desired.services.size());
  for (const auto& s : desired.services) wanted.insert(VipKeyOf(s));
  for (auto it = services_.begin(); it != services_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    // The id stops confirming conntrack hits before the service goes, so none outlives it.
    ops_.Update(MapId::kServiceKeys, ToBytes(it->second.value.id), ToBytes(lb_vip_key{}));
    ops_.Delete(MapId::kServices, ToBytes(it->first));
    if (it->second.value.maglev_size > 0) ranges_.Free(it->second.value.maglev_base);
    used_service_ids_.erase(it->second.value.id);
    ++st.services_removed;
    it = services_.erase(it);
  }
  PodSet<lb_vip_key>().swap(wanted);

  // 2. Services already in the maps before new ones, so a new Service can never take the room
  // of one that is serving.
  std::vector<const DesiredService*> order;
  order.reserve(desired.services.size());
  for (const auto& s : desired.services)
    if (services_.count(VipKeyOf(s))) order.push_back(&s);
  for (const auto& s : desired.services)
    if (!services_.count(VipKeyOf(s))) order.push_back(&s);
  std::vector<const DesiredService*> served;
  served.reserve(order.size());
  std::vector<std::pair<const DesiredService*, std::string>> refused;
  for (const DesiredService* s : order) {
    if (auto why = ApplyService(*s, want_backends, &st)) {
      refused.emplace_back(s, *why);
    } else {
      served.push_back(s);
    }
  }

  // 3. Backends no served Service references: emptied after no table can name them. Then the
  // refused Services get one more try, since that may have made room.
  // (By slot: a served Service's endpoints are exactly the slots it was given.)
  auto free_unreferenced = [&] {
    std::vector<bool> referenced(backends_.size());
    for (const DesiredService* s : served)
      for (uint32_t id : services_.at(VipKeyOf(*s)).ids) referenced[id] = true;
    size_t freed = 0;
    for (uint32_t id = 0; id < backends_.size(); ++id) {
      if (!backend_used_[id]) continue;
      if (backends_[id].action != LB_ACTION_NONE && referenced[id]) continue;
      FreeSlot(id, &st);
      ++freed;
    }
    return freed;
  };
  if (free_unreferenced() > 0 && !refused.empty()) {
    auto again = std::move(refused);
    refused.clear();
    for (auto& [s, why] : again) {
      if (auto still = ApplyService(*s, want_backends, &st)) {
        refused.emplace_back(s, *still);
      } else {
        served.push_back(s);
      }
    }
    free_unreferenced();
  }
  PodMap<lb_endpoint_key, lb_backend>().swap(want_backends);
  for (const auto& [s, why] : refused) st.refused.push_back({s->service, s->name, s->key(), why});
  std::sort(st.refused.begin(), st.refused.end(),
            [](const Refusal& a, const Refusal& b) { return a.key < b.key; });

  // 4. This node's endpoints of the served Services (encapsulated flows are accepted for
  // these only) and its own addresses: plain key/value diffs. (lb_l2 is the L2 speaker's.)
  std::sort(served.begin(), served.end(), [](const DesiredService* a, const DesiredService* b) {
    return std::tie(a->vip, a->port, a->proto) < std::tie(b->vip, b->port, b->proto);
  });
  SyncNode(desired);
  SyncEndpointsFull(served, &st);
  over_vip_limit_ = st.endpoints_over_vip_limit;
  if (st.refused.empty()) IndexServed(served);
  return st;
}

void MapSync::SyncNode(const DesiredDataplane& desired) {
  lb_node_addrs node{};
  if (desired.node_v4) std::memcpy(&node.v4, desired.node_v4->bytes().data(), sizeof(node.v4));
  if (desired.node_v6) FillAddr(node.v6, *desired.node_v6);
  if (!node_ || !SameBytes(*node_, node)) {
    ops_.Update(MapId::kNode, ToBytes(uint32_t{0}), ToBytes(node));
    node_ = node;
  }
}

lb_endpoint_value MapSync::ReadEndpoint(const lb_endpoint_key& k) const {
  auto v = ops_.Lookup(MapId::kEndpoints, ToBytes(k));
  return v ? FromBytes<lb_endpoint_value>(*v) : lb_endpoint_value{};
}

void MapSync::SyncEndpointsFull(const std::vector<const DesiredService*>& served, SyncStats* st) {
  // Each endpoint with the VIP:ports it serves, sorted (served is in VIP order): replies are
  // translated for the first LB_ENDPOINT_VIPS of them.
  st->endpoints_over_vip_limit.clear();
  PodMap<lb_endpoint_key, lb_endpoint_value> want_endpoints;
  want_endpoints.reserve(endpoints_.size());
  for (const DesiredService* s : served) {
    const std::vector<uint32_t>& ids = services_.at(VipKeyOf(*s)).ids;
    for (size_t i = 0; i < s->backends.size(); ++i) {
      const DesiredBackend& b = s->backends[i];
      if (b.tunnel) continue;
      const lb_endpoint_key k = LocalEndpointKey(b, s->proto);
      lb_endpoint_value& v = want_endpoints[k];
      v.backend_id = ids[i];
      if (v.vip_count >= LB_ENDPOINT_VIPS) {
        const std::string name = b.id(s->proto);
        if (st->endpoints_over_vip_limit.empty() || st->endpoints_over_vip_limit.back() != name)
          st->endpoints_over_vip_limit.push_back(name);
        continue;
      }
      FillAddr(v.vips[v.vip_count].vip, s->vip);
      v.vips[v.vip_count].port = htobe16(s->port);
      ++v.vip_count;
    }
  }
  PodMap<lb_vip_addr_key, lb_vip_addr_value> want_vip_addrs;
  for (const DesiredService* s : served) {
    lb_vip_addr_key k{};
    FillAddr(k.addr, s->vip);
    k.family = FamilyOf(s->vip);
    ++want_vip_addrs[k].services;
  }
  SyncMap(ops_, MapId::kEndpoints, endpoints_, want_endpoints, st->endpoints_written,
          st->endpoints_removed);
  SyncMap(ops_, MapId::kVipAddrs, vip_addrs_, want_vip_addrs, st->vip_addrs_written,
          st->vip_addrs_removed);
}

namespace {

// Two values for one slot differ in more than the draining flag.
bool SameBase(lb_backend a, lb_backend b) {
  a.flags = 0;
  b.flags = 0;
  return SameBytes(a, b);
}

IPAddr AddrOf(const __be32 a[4], uint8_t family) {
  return IPAddr::FromBytes(family == LB_FAMILY_V4 ? Family::kV4 : Family::kV6,
                           reinterpret_cast<const uint8_t*>(a));
}

// lb_endpoints' key for a backend slot's value and a Service's protocol.
lb_endpoint_key EndpointKey(const lb_backend& b, uint8_t proto) {
  lb_endpoint_key k{};
  std::memcpy(k.addr, b.addr, sizeof(k.addr));
  k.port = b.port;
  k.proto = proto;
  k.family = b.family;
  return k;
}

}  // namespace

void MapSync::IndexServed(const std::vector<const DesiredService*>& served) {
  refs_.assign(backends_.size(), 0);
  ready_refs_.assign(backends_.size(), 0);
  bool one_value = true;
  for (const DesiredService* s : served) {
    const std::vector<uint32_t>& ids = services_.at(VipKeyOf(*s)).ids;
    for (size_t i = 0; i < s->backends.size(); ++i) {
      const uint32_t id = ids[i];
      ++refs_[id];
      if (!s->backends[i].draining) ++ready_refs_[id];
      // An endpoint two Services see differently (a tunnel to two nodes): the full pass's
      // first-in-VIP-order rule decides, which counts cannot follow.
      if (one_value && !SameBase(backends_[id], BackendValue(s->backends[i], false)))
        one_value = false;
    }
  }
  fast_ok_ = one_value;
}

bool MapSync::ApplyChanged(const DesiredDataplane& desired, SyncStats* st_out) {
  SyncStats& st = *st_out;
  // 1. Which Services differ from what the maps hold: O(Services) lookups, no endpoint touched.
  std::vector<const DesiredService*> changed, added;
  {
    PodSet<lb_vip_key> wanted;
    wanted.reserve(desired.services.size());
    for (const auto& s : desired.services) {
      if (s.revision == 0) return false;
      const lb_vip_key key = VipKeyOf(s);
      if (!wanted.insert(key).second) return false;  // one key twice: the full pass's rule
      auto it = services_.find(key);
      if (it == services_.end()) {
        added.push_back(&s);
      } else if (it->second.revision != s.revision) {
        changed.push_back(&s);
      }
    }
    // Most of them new or changed (the first Services' addresses arriving): the full pass is
    // as cheap and needs no per-Service bookkeeping.
    if ((changed.size() + added.size()) * 4 > desired.services.size() + 64) return false;
    // What each changed or removed Service held, before anything is written.
    struct Old {
      lb_vip_key key;
      std::vector<uint32_t> ids;
      std::vector<uint32_t> ready;          // sorted
      std::vector<lb_endpoint_key> locals;  // its lb_endpoints keys
      bool removed = false;
    };
    std::vector<Old> old;
    auto hold = [&](const lb_vip_key& key, const ServiceState& state, bool removed) {
      Old o{key, state.ids, state.table_slots, {}, removed};
      for (uint32_t id : o.ids)
        if (backends_[id].action == LB_ACTION_LOCAL)
          o.locals.push_back(EndpointKey(backends_[id], key.proto));
      old.push_back(std::move(o));
    };
    for (const DesiredService* s : changed) {
      const lb_vip_key key = VipKeyOf(*s);
      hold(key, services_.at(key), false);
    }
    if (wanted.size() - added.size() != services_.size())
      for (const auto& [key, state] : services_)
        if (!wanted.count(key)) hold(key, state, true);
    PodSet<lb_vip_key>().swap(wanted);
    st.services_diffed = old.size() + added.size();
    if (old.empty() && added.empty()) {
      SyncNode(desired);
      st.endpoints_over_vip_limit = over_vip_limit_;
      fast_ok_ = true;
      return true;
    }

    // 2. The references leaving, per slot; and the value each endpoint of a changed or new
    // Service should have once the pass is done (ready in any Service clears the flag).
    struct Count {
      uint32_t refs = 0, ready = 0;
    };
    std::unordered_map<uint32_t, Count> leaving;
    for (const Old& o : old)
      for (uint32_t id : o.ids) {
        Count& c = leaving[id];
        ++c.refs;
        c.ready += std::binary_search(o.ready.begin(), o.ready.end(), id);
      }
    PodMap<lb_endpoint_key, lb_backend> want;
    PodMap<lb_endpoint_key, uint32_t> ready_now;
    for (const auto* list : {&changed, &added})
      for (const DesiredService* s : *list)
        for (const DesiredBackend& b : s->backends) {
          const lb_backend v = BackendValue(b, false);
          const lb_endpoint_key identity = Identity(v);
          auto [it, inserted] = want.emplace(identity, v);
          if (!inserted && !SameBytes(it->second, v)) return false;
          uint32_t& r = ready_now[identity];
          r += !b.draining;
        }
    for (auto& [identity, v] : want) {
      uint32_t ready = ready_now[identity];
      if (const uint32_t id = backend_ids_.Find(identity)) {
        Count gone;
        if (auto l = leaving.find(id); l != leaving.end()) gone = l->second;
        if (refs_[id] > gone.refs && !SameBase(backends_[id], v)) return false;
        ready += ready_refs_[id] - gone.ready;
      }
      if (ready == 0) v.flags |= LB_BACKEND_F_DRAINING;
    }
    PodMap<lb_endpoint_key, uint32_t>().swap(ready_now);

    // From here on the pass writes. 3. Removed Services first: they make room.
    for (const Old& o : old) {
      if (!o.removed) continue;
      auto it = services_.find(o.key);
      // As in the full pass: the id stops confirming conntrack hits before the service goes.
      ops_.Update(MapId::kServiceKeys, ToBytes(it->second.value.id), ToBytes(lb_vip_key{}));
      ops_.Delete(MapId::kServices, ToBytes(o.key));
      if (it->second.value.maglev_size > 0) ranges_.Free(it->second.value.maglev_base);
      used_service_ids_.erase(it->second.value.id);
      ++st.services_removed;
      services_.erase(it);
    }

    // 4. Changed Services (all already in the maps) before new ones, as in the full pass.
    std::vector<const DesiredService*> served_now;
    std::vector<std::pair<const DesiredService*, std::string>> refused;
    auto attempt = [&](const DesiredService* s) {
      if (auto why = ApplyService(*s, want, &st)) {
        refused.emplace_back(s, *why);
        return;
      }
      served_now.push_back(s);
      const std::vector<uint32_t>& ids = services_.at(VipKeyOf(*s)).ids;
      if (refs_.size() < backends_.size()) {
        refs_.resize(backends_.size());
        ready_refs_.resize(backends_.size());
      }
      for (size_t i = 0; i < ids.size(); ++i) {
        ++refs_[ids[i]];
        ready_refs_[ids[i]] += !s->backends[i].draining;
      }
    };
    for (const DesiredService* s : changed) attempt(s);
    for (const DesiredService* s : added) attempt(s);
    for (const auto& [id, gone] : leaving) {
      refs_[id] -= gone.refs;
      ready_refs_[id] -= gone.ready;
    }
    // Slots a changed Service left that others still name: only their flag may change.
    for (const auto& [id, gone] : leaving) {
      if (refs_[id] == 0) continue;
      lb_backend v = backends_[id];
      if (want.count(Identity(v))) continue;  // written by ApplyService
      v.flags = ready_refs_[id] == 0 ? LB_BACKEND_F_DRAINING : 0;
      if (SameBytes(v, backends_[id])) continue;
      ops_.Update(MapId::kBackends, ToBytes(id), ToBytes(v));
      backends_[id] = v;
      ++st.backends_written;
    }

    // 5. Slots no Service names any more, emptied in id order (as the full pass does); then
    // the refused get one more try, as in the full pass.
    auto free_unreferenced = [&] {
      std::vector<uint32_t> ids;
      for (const auto& [id, gone] : leaving) ids.push_back(id);
      for (const auto& [s, why] : refused)
        for (const DesiredBackend& b : s->backends)
          if (const uint32_t id = backend_ids_.Find(Identity(b))) ids.push_back(id);
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      if (refs_.size() < backends_.size()) {
        refs_.resize(backends_.size());
        ready_refs_.resize(backends_.size());
      }
      size_t freed = 0;
      for (uint32_t id : ids) {
        if (!BackendUsed(id) || refs_[id] > 0) continue;
        FreeSlot(id, &st);
        ++freed;
      }
      return freed;
    };
    if (free_unreferenced() > 0 && !refused.empty()) {
      auto again = std::move(refused);
      refused.clear();
      for (const auto& [s, why] : again) attempt(s);
      free_unreferenced();
    }
    for (const auto& [s, why] : refused) st.refused.push_back({s->service, s->name, s->key(), why});
    std::sort(st.refused.begin(), st.refused.end(),
              [](const Refusal& a, const Refusal& b) { return a.key < b.key; });

    // 6. lb_endpoints: the entries the leaving and the newly served Services touch, edited in a
    // copy; an entry at the VIP limit (some of its VIP:ports are not in it) needs every Service,
    // and so does the list of endpoints over the limit: then the full diff runs.
    std::set<const DesiredService*> refused_set;
    for (const auto& [s, why] : refused) refused_set.insert(s);
    PodMap<lb_endpoint_key, lb_endpoint_value> edits;
    bool full_endpoints = false;
    auto entry = [&](const lb_endpoint_key& k) -> lb_endpoint_value& {
      auto it = edits.find(k);
      if (it != edits.end()) return it->second;
      return edits[k] = endpoints_.count(k) ? ReadEndpoint(k) : lb_endpoint_value{};
    };
    for (const Old& o : old)
      for (const lb_endpoint_key& k : o.locals) {
        lb_endpoint_value& v = entry(k);
        if (v.vip_count >= LB_ENDPOINT_VIPS) full_endpoints = true;
        for (uint32_t i = 0; i < v.vip_count; ++i) {
          if (std::memcmp(v.vips[i].vip, o.key.addr, sizeof(o.key.addr)) != 0 ||
              v.vips[i].port != o.key.port)
            continue;
          for (uint32_t j = i + 1; j < v.vip_count; ++j) v.vips[j - 1] = v.vips[j];
          --v.vip_count;
          v.vips[v.vip_count] = lb_endpoint_vip{};
          break;
        }
      }
    for (const DesiredService* s : served_now) {
      const std::vector<uint32_t>& ids = services_.at(VipKeyOf(*s)).ids;
      for (size_t i = 0; i < s->backends.size(); ++i) {
        const DesiredBackend& b = s->backends[i];
        if (b.tunnel) continue;
        const lb_endpoint_key k = LocalEndpointKey(b, s->proto);
        lb_endpoint_value& v = entry(k);
        v.backend_id = ids[i];
        if (v.vip_count >= LB_ENDPOINT_VIPS) {
          full_endpoints = true;
          continue;
        }
        // Sorted by VIP and port, as the full pass lists them.
        uint32_t at = v.vip_count;
        while (at > 0 && std::make_tuple(s->vip, s->port) <
                             std::make_tuple(AddrOf(v.vips[at - 1].vip, k.family),
                                             static_cast<uint16_t>(be16toh(v.vips[at - 1].port)))) {
          v.vips[at] = v.vips[at - 1];
          --at;
        }
        v.vips[at] = lb_endpoint_vip{};
        FillAddr(v.vips[at].vip, s->vip);
        v.vips[at].port = htobe16(s->port);
        ++v.vip_count;
      }
    }
    SyncNode(desired);
    if (full_endpoints) {
      std::vector<const DesiredService*> served;
      served.reserve(desired.services.size());
      for (const auto& s : desired.services)
        if (!refused_set.count(&s)) served.push_back(&s);
      std::sort(served.begin(), served.end(), [](const DesiredService* a, const DesiredService* b) {
        return std::tie(a->vip, a->port, a->proto) < std::tie(b->vip, b->port, b->proto);
      });
      SyncEndpointsFull(served, &st);
      over_vip_limit_ = st.endpoints_over_vip_limit;
    } else {
      for (const auto& [k, v] : edits)
        PutEntry(ops_, MapId::kEndpoints, endpoints_, k, v, v.vip_count == 0, st.endpoints_written,
                 st.endpoints_removed);
      st.endpoints_over_vip_limit = over_vip_limit_;
      // 7. lb_vip_addrs: Services per VIP address, counted up and down.
      PodMap<lb_vip_addr_key, lb_vip_addr_value> counts;
      auto count = [&](const lb_vip_key& vk) -> lb_vip_addr_value& {
        lb_vip_addr_key k{};
        std::memcpy(k.addr, vk.addr, sizeof(k.addr));
        k.family = vk.family;
        auto it = counts.find(k);
        if (it != counts.end()) return it->second;
        auto cur = vip_addrs_.find(k);
        return counts[k] = cur == vip_addrs_.end() ? lb_vip_addr_value{} : cur->second;
      };
      for (const Old& o : old) --count(o.key).services;
      for (const DesiredService* s : served_now) ++count(VipKeyOf(*s)).services;
      for (const auto& [k, v] : counts)
        PutEntry(ops_, MapId::kVipAddrs, vip_addrs_, k, v, v.services == 0, st.vip_addrs_written,
                 st.vip_addrs_removed);
    }
    fast_ok_ = refused.empty();
  }
  return true;
}

nlohmann::json MapSync::Summary() const {
  return {{"services", services_.size()},
          {"services_capacity", max_services_},
          {"backends", backends_in_use_},
          {"backends_capacity", max_backends_ > 0 ? max_backends_ - kFirstBackendId : 0},
          {"maglev_entries_used", ranges_.used()},
          {"local_endpoints", endpoints_.size()}};
}

}  // namespace ironlb::dataplane
