#include "l2/l2_map.h"

#include <time.h>

#include <cstring>

#include "dataplane/map_layout.h"

namespace ironlb::l2 {
namespace {

lb_l2_key KeyFor(const IPAddr& vip, uint32_t ifindex) {
  lb_l2_key k{};
  const auto b = vip.bytes();
  std::memcpy(k.addr, b.data(), vip.is_v4() ? 4 : 16);
  k.family = vip.is_v4() ? LB_FAMILY_V4 : LB_FAMILY_V6;
  k.ifindex = ifindex;
  return k;
}

Bytes State(uint32_t s) {
  return dataplane::ToBytes(lb_l2_value{s});
}

}  // namespace

std::map<Bytes, Bytes> L2Entries(const std::vector<Ownership>& owners, const std::string& self,
                                 const std::map<std::string, uint32_t>& ifindex) {
  std::map<Bytes, Bytes> want;
  for (const Ownership& o : owners) {
    const bool mine = o.owner && *o.owner == self;
    const bool everywhere = mine && o.interfaces.empty();
    want[dataplane::ToBytes(KeyFor(o.vip, 0))] = State(everywhere ? LB_L2_OWNED : LB_L2_SILENT);
    if (!mine) continue;
    for (const auto& name : o.interfaces) {
      auto it = ifindex.find(name);
      if (it != ifindex.end())
        want[dataplane::ToBytes(KeyFor(o.vip, it->second))] = State(LB_L2_OWNED);
    }
  }
  return want;
}

L2MapWriter::L2MapWriter(dataplane::MapOps& ops) : ops_(ops) {
  for (const Bytes& key : ops_.Keys(dataplane::MapId::kL2))
    if (auto v = ops_.Lookup(dataplane::MapId::kL2, key)) applied_[key] = *v;
}

L2MapWriter::Stats L2MapWriter::Sync(const std::map<Bytes, Bytes>& want) {
  Stats st;
  // Silence first: a VIP leaving this node must stop being answered before anything else.
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& [k, v] : want) {
      const bool silent = dataplane::FromBytes<lb_l2_value>(v).state != LB_L2_OWNED;
      if (silent != (pass == 0)) continue;
      auto it = applied_.find(k);
      if (it != applied_.end() && it->second == v) continue;
      ops_.Update(dataplane::MapId::kL2, k, v);
      applied_[k] = v;
      ++st.written;
    }
  }
  for (auto it = applied_.begin(); it != applied_.end();) {
    if (want.count(it->first)) {
      ++it;
      continue;
    }
    ops_.Delete(dataplane::MapId::kL2, it->first);
    ++st.removed;
    it = applied_.erase(it);
  }
  return st;
}

void L2MapWriter::Stamp(uint64_t now_ns, uint64_t max_age_ns) {
  ops_.Update(dataplane::MapId::kL2Live, dataplane::ToBytes(uint32_t{0}),
              dataplane::ToBytes(lb_l2_live{now_ns, max_age_ns}));
}

std::map<IPAddr, lb_l2_counter> ReadL2Counters(dataplane::MapOps& ops,
                                               const std::set<IPAddr>& keep) {
  std::map<IPAddr, lb_l2_counter> out;
  std::vector<dataplane::Bytes> stale;
  ops.ForEach(
      dataplane::MapId::kL2Stats, [&](const dataplane::Bytes& k, const dataplane::Bytes& per_cpu) {
        const auto key = dataplane::FromBytes<lb_l2_key>(k);
        const IPAddr vip = IPAddr::FromBytes(key.family == LB_FAMILY_V4 ? Family::kV4 : Family::kV6,
                                             reinterpret_cast<const uint8_t*>(key.addr));
        if (!keep.count(vip)) {
          stale.push_back(k);
          return;
        }
        // One lb_l2_counter per possible CPU (16 bytes each: no padding between them).
        lb_l2_counter sum{};
        for (size_t off = 0; off + sizeof(lb_l2_counter) <= per_cpu.size();
             off += sizeof(lb_l2_counter)) {
          lb_l2_counter c;
          std::memcpy(&c, per_cpu.data() + off, sizeof c);
          sum.requests += c.requests;
          sum.responses += c.responses;
        }
        out[vip] = sum;
      });
  for (const auto& k : stale) ops.Delete(dataplane::MapId::kL2Stats, k);
  return out;
}

}  // namespace ironlb::l2
