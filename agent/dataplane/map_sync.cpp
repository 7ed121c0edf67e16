#include "dataplane/map_sync.h"

#include <algorithm>
#include <stdexcept>

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
Bytes Identity(const lb_backend& b) {
  lb_rev_key k{};
  std::memcpy(k.addr, b.addr, sizeof(k.addr));
  k.port = b.port;
  k.family = b.family;
  return ToBytes(k);
}

lb_backend BackendValue(const DesiredBackend& d, bool draining) {
  lb_backend b{};
  FillAddr(b.addr, d.addr);
  b.port = htobe16(d.port);
  b.family = FamilyOf(d.addr);
  b.action = LB_ACTION_LOCAL;
  b.flags = draining ? LB_BACKEND_F_DRAINING : 0;
  return b;
}

template <typename T>
bool SameBytes(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

}  // namespace

uint32_t RangeAllocator::Allocate(uint32_t size) {
  uint32_t next = 0;
  for (const auto& [base, len] : used_) {
    if (base - next >= size) break;
    next = base + len;
  }
  if (next + static_cast<uint64_t>(size) > capacity_)
    throw std::runtime_error("Maglev array full: no room for a table of " + std::to_string(size));
  used_[next] = size;
  return next;
}

uint32_t RangeAllocator::used() const {
  uint32_t n = 0;
  for (const auto& [b, s] : used_) n += s;
  return n;
}

MapSync::MapSync(MapOps& ops) : ops_(ops) {
  Load();
}

void MapSync::Load() {
  for (const Bytes& key : ops_.Keys(MapId::kServices)) {
    auto v = ops_.Lookup(MapId::kServices, key);
    if (!v) continue;
    ServiceState st;
    st.value = FromBytes<lb_service>(*v);
    if (st.value.maglev_size > 0 &&
        static_cast<uint64_t>(st.value.maglev_base) + st.value.maglev_size <=
            LB_MAGLEV_RING_ENTRIES) {
      ranges_.Reserve(st.value.maglev_base, st.value.maglev_size);
      st.table = ops_.LookupRange(MapId::kMaglev, st.value.maglev_base, st.value.maglev_size);
    }
    services_[key] = std::move(st);
  }
  // Backends live in an array: every slot exists, the used ones have an action.
  for (uint32_t id = kFirstBackendId; id < LB_MAX_BACKENDS; ++id) {
    auto v = ops_.Lookup(MapId::kBackends, ToBytes(id));
    if (!v) continue;
    auto b = FromBytes<lb_backend>(*v);
    if (b.action == LB_ACTION_NONE) continue;
    backends_[id] = b;
    backend_ids_[Identity(b)] = id;
  }
  for (auto* m : {&rev_nat_, &l2_}) {
    const MapId id = m == &rev_nat_ ? MapId::kRevNat : MapId::kL2;
    for (const Bytes& key : ops_.Keys(id))
      if (auto v = ops_.Lookup(id, key)) (*m)[key] = *v;
  }
}

uint32_t MapSync::BackendId(const Bytes& identity) {
  auto it = backend_ids_.find(identity);
  if (it != backend_ids_.end()) return it->second;
  // Next-fit from the last id handed out: linear in the table once, not once per backend.
  for (uint32_t n = 0; n < LB_MAX_BACKENDS - kFirstBackendId; ++n) {
    uint32_t id = next_backend_id_;
    next_backend_id_ = id + 1 < LB_MAX_BACKENDS ? id + 1 : kFirstBackendId;
    if (backends_.count(id)) continue;
    backend_ids_[identity] = id;
    backends_[id] = lb_backend{};  // reserved; written below
    return id;
  }
  throw std::runtime_error("backend table full");
}

SyncStats MapSync::Apply(const DesiredDataplane& desired,
                         const std::map<std::string, uint32_t>& ifindex) {
  SyncStats st;
  // 1. Backends first, so every table written below names slots that already hold an endpoint.
  std::map<Bytes, lb_backend> want_backends;  // identity -> value
  for (const auto& s : desired.services)
    for (const auto& b : s.backends) {
      lb_backend v = BackendValue(b, b.draining);
      auto [it, inserted] = want_backends.emplace(Identity(v), v);
      if (!inserted && !b.draining) it->second.flags &= ~LB_BACKEND_F_DRAINING;
    }
  std::set<uint32_t> live_ids;
  for (const auto& [identity, v] : want_backends) {
    const uint32_t id = BackendId(identity);
    live_ids.insert(id);
    if (!SameBytes(backends_[id], v)) {
      ops_.Update(MapId::kBackends, ToBytes(id), ToBytes(v));
      backends_[id] = v;
      ++st.backends_written;
    }
  }

  // 2. Services and their tables.
  std::set<Bytes> live_services;
  std::set<uint32_t> used_service_ids;
  uint32_t next_service_id = 0;  // ids below it are known taken (ascending allocation)
  for (const auto& [k, s] : services_) used_service_ids.insert(s.value.id);
  std::map<Bytes, Bytes> want_rev;
  for (const auto& s : desired.services) {
    const Bytes key = ToBytes(VipKeyOf(s));
    live_services.insert(key);
    std::map<std::string, uint32_t> id_of;  // maglev backend id string -> backend slot
    for (const auto& b : s.backends)
      id_of[b.id(s.proto)] = backend_ids_.at(Identity(BackendValue(b, false)));
    std::vector<uint32_t> table;
    table.reserve(s.table.entries.size());
    for (uint32_t e : s.table.entries) table.push_back(id_of.at(s.table.backends.at(e).id));

    auto cur = services_.find(key);
    lb_service v{};
    if (cur != services_.end()) {
      v.id = cur->second.value.id;
    } else {
      v.id = next_service_id;
      while (used_service_ids.count(v.id)) ++v.id;
      if (v.id >= LB_MAX_SERVICES) throw std::runtime_error("service table full");
      used_service_ids.insert(v.id);
      next_service_id = v.id + 1;
    }
    v.backend_count = static_cast<uint32_t>(s.table.backends.size());
    v.maglev_size = static_cast<uint32_t>(table.size());
    const bool same_table = cur != services_.end() && cur->second.table == table;
    if (same_table) {
      v.maglev_base = cur->second.value.maglev_base;
    } else if (!table.empty()) {
      v.maglev_base = ranges_.Allocate(v.maglev_size);
      ops_.UpdateRange(MapId::kMaglev, v.maglev_base, table);
      ++st.tables_written;
    }
    if (cur == services_.end() || !SameBytes(cur->second.value, v)) {
      ops_.Update(MapId::kServices, key, ToBytes(v));  // the atomic switch to the new table
      ++st.services_written;
    }
    if (cur != services_.end() && !same_table && cur->second.value.maglev_size > 0)
      ranges_.Free(cur->second.value.maglev_base);
    services_[key] = ServiceState{v, std::move(table)};

    for (const auto& b : s.backends) {
      lb_rev_key rk{};
      FillAddr(rk.addr, b.addr);
      rk.port = htobe16(b.port);
      rk.proto = static_cast<uint8_t>(s.proto);
      rk.family = FamilyOf(b.addr);
      lb_rev_value rv{};
      FillAddr(rv.vip, s.vip);
      rv.port = htobe16(s.port);
      want_rev.emplace(ToBytes(rk),
                       ToBytes(rv));  // first service (key order) wins a shared endpoint
    }
  }
  for (auto it = services_.begin(); it != services_.end();) {
    if (live_services.count(it->first)) {
      ++it;
      continue;
    }
    ops_.Delete(MapId::kServices, it->first);
    if (it->second.value.maglev_size > 0) ranges_.Free(it->second.value.maglev_base);
    ++st.services_removed;
    it = services_.erase(it);
  }

  // 3. Backends nobody references any more: emptied after no table can name them.
  for (auto it = backends_.begin(); it != backends_.end();) {
    if (live_ids.count(it->first)) {
      ++it;
      continue;
    }
    ops_.Update(MapId::kBackends, ToBytes(it->first), ToBytes(lb_backend{}));
    backend_ids_.erase(Identity(it->second));
    ++st.backends_removed;
    it = backends_.erase(it);
  }

  // 4. Reverse NAT and L2 ownership: plain key/value diffs.
  std::map<Bytes, Bytes> want_l2;
  for (const auto& l2 : desired.l2) {
    lb_l2_key k{};
    FillAddr(k.addr, l2.vip);
    k.family = FamilyOf(l2.vip);
    // Wildcard entry: silent unless owned on every interface.
    const bool everywhere = l2.owned && l2.interfaces.empty();
    want_l2[ToBytes(k)] =
        ToBytes(lb_l2_value{static_cast<__u32>(everywhere ? LB_L2_OWNED : LB_L2_SILENT)});
    if (l2.owned)
      for (const auto& name : l2.interfaces) {
        auto it = ifindex.find(name);
        if (it == ifindex.end()) continue;
        k.ifindex = it->second;
        want_l2[ToBytes(k)] = ToBytes(lb_l2_value{LB_L2_OWNED});
      }
  }
  auto diff = [&](MapId id, std::map<Bytes, Bytes>& have, const std::map<Bytes, Bytes>& want,
                  size_t& written, size_t& removed) {
    for (const auto& [k, v] : want) {
      auto it = have.find(k);
      if (it != have.end() && it->second == v) continue;
      ops_.Update(id, k, v);
      have[k] = v;
      ++written;
    }
    for (auto it = have.begin(); it != have.end();) {
      if (want.count(it->first)) {
        ++it;
        continue;
      }
      ops_.Delete(id, it->first);
      ++removed;
      it = have.erase(it);
    }
  };
  diff(MapId::kRevNat, rev_nat_, want_rev, st.rev_nat_written, st.rev_nat_removed);
  diff(MapId::kL2, l2_, want_l2, st.l2_written, st.l2_removed);
  return st;
}

nlohmann::json MapSync::Summary() const {
  return {{"services", services_.size()},
          {"backends", backends_.size()},
          {"maglev_entries_used", ranges_.used()},
          {"rev_nat", rev_nat_.size()},
          {"l2", l2_.size()}};
}

}  // namespace ironlb::dataplane
