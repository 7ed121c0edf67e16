#include <algorithm>

#include "config/validate_rules.h"

namespace ironlb::config {
namespace {

// IPv4 sorts as its IPv4-mapped IPv6 form (::ffff:a.b.c.d), as Go compares 16-byte addresses.
constexpr u128 kV4MappedPrefix = u128(0xffff) << 32;

u128 Comparable(const IPAddr& a) {
  return a.is_v4() ? (kV4MappedPrefix | a.value()) : a.value();
}

std::string Trim(const std::string& s) {
  const char* ws = " \t\n\r\v\f";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// The first pair of summarised CIDRs of a and b that overlap, for naming the conflict.
std::pair<IPPrefix, IPPrefix> OverlappingPrefixes(const IPRange& a, const IPRange& b) {
  for (const IPPrefix& pa : a.ToPrefixes()) {
    for (const IPPrefix& pb : b.ToPrefixes()) {
      if (IPRange{pa.first(), pa.last()}.overlaps(IPRange{pb.first(), pb.last()})) return {pa, pb};
    }
  }
  return {};
}

// Which spec.addresses entry each range came from.
struct PoolRanges {
  std::vector<IPRange> ranges;
  std::vector<size_t> entry;
};

PoolRanges RangesOf(const IPAddressPool& pool) {
  PoolRanges out;
  for (size_t i = 0; i < pool.addresses.size(); ++i) {
    std::vector<IPRange> r;
    std::string ignored;
    if (!ParsePoolAddress(pool.addresses[i], &r, &ignored)) continue;
    for (const IPRange& x : r) {
      out.ranges.push_back(x);
      out.entry.push_back(i);
    }
  }
  return out;
}

std::string AddressPath(size_t i) {
  return "spec.addresses[" + std::to_string(i) + "]";
}

}  // namespace

bool ParsePoolAddress(const std::string& text, std::vector<IPRange>* out, std::string* error) {
  const size_t dash = text.find('-');
  if (dash == std::string::npos) {
    // CIDRs are not trimmed (MetalLB rejects " 10.0.0.0/8"); host bits are allowed.
    auto prefix = IPPrefix::Parse(text);
    if (!prefix) {
      *error = "\"" + text + "\" is not a CIDR (like 192.168.10.0/24) or a range (like " +
               "192.168.10.10-192.168.10.20)";
      if (text != Trim(text)) *error += "; remove the spaces around it";
      return false;
    }
    out->push_back(IPRange{prefix->first(), prefix->last()});
    return true;
  }
  const std::string first_s = Trim(text.substr(0, dash));
  const std::string last_s = Trim(text.substr(dash + 1));
  const auto first = IPAddr::Parse(first_s);
  const auto last = IPAddr::Parse(last_s);
  if (!first || !last) {
    *error = "range \"" + text + "\": \"" + (first ? last_s : first_s) + "\" is not an IP address";
    return false;
  }
  if (Comparable(*first) > Comparable(*last)) {
    *error = "range \"" + text + "\": start " + first->str() + " is after end " + last->str();
    return false;
  }
  // MetalLB summarises a range whose ends are of different families to nothing.
  if (first->family() == last->family()) out->push_back(IPRange{*first, *last});
  return true;
}

Errors CheckPool(const IPAddressPool& pool, const RuleContext& ctx, IPAddressPool* out) {
  (void)ctx;
  ObjectErrors errs("IPAddressPool", pool.meta);
  *out = pool;
  out->ranges.clear();
  if (pool.addresses.empty()) {
    errs.Add("spec.addresses", "the pool has no addresses; list at least one CIDR or range");
  }
  std::vector<size_t> entry;
  for (size_t i = 0; i < pool.addresses.size(); ++i) {
    std::vector<IPRange> parsed;
    std::string error;
    if (!ParsePoolAddress(pool.addresses[i], &parsed, &error)) {
      errs.Add(AddressPath(i), error);
      continue;
    }
    for (const IPRange& r : parsed) {
      for (size_t k = 0; k < out->ranges.size(); ++k) {
        if (!r.overlaps(out->ranges[k])) continue;
        auto [mine, theirs] = OverlappingPrefixes(r, out->ranges[k]);
        errs.Add(AddressPath(i), mine.str() + " overlaps " + theirs.str() + " of " +
                                     AddressPath(entry[k]) + " in the same pool");
        break;
      }
      out->ranges.push_back(r);
      entry.push_back(i);
    }
  }
  if (pool.service_allocation) {
    const ServiceAllocation& sa = *pool.service_allocation;
    CheckNoDuplicates(sa.namespaces, "spec.serviceAllocation.namespaces", "namespace", &errs);
    CheckSelectors(sa.namespace_selectors, "spec.serviceAllocation.namespaceSelectors", &errs);
    CheckSelectors(sa.service_selectors, "spec.serviceAllocation.serviceSelectors", &errs);
  }
  return errs.Take();
}

Errors CheckPoolConflicts(const IPAddressPool& pool, const RuleContext& ctx) {
  ObjectErrors errs("IPAddressPool", pool.meta);
  const PoolRanges mine = RangesOf(pool);
  std::set<size_t> reported;
  for (size_t i = 0; i < mine.ranges.size(); ++i) {
    if (reported.count(mine.entry[i])) continue;
    for (const auto& [name, other] : ctx.accepted->pools) {
      // Accepted pools carry their parsed ranges; re-parse only to name the conflicting entry.
      if (std::none_of(other.ranges.begin(), other.ranges.end(),
                       [&](const IPRange& r) { return r.overlaps(mine.ranges[i]); })) {
        continue;
      }
      const PoolRanges theirs = RangesOf(other);
      auto hit = std::find_if(theirs.ranges.begin(), theirs.ranges.end(),
                              [&](const IPRange& r) { return r.overlaps(mine.ranges[i]); });
      if (hit == theirs.ranges.end()) continue;
      auto [a, b] = OverlappingPrefixes(mine.ranges[i], *hit);
      errs.Add(AddressPath(mine.entry[i]),
               a.str() + " overlaps " + b.str() + " of IPAddressPool " + name + " (" +
                   AddressPath(theirs.entry[hit - theirs.ranges.begin()]) +
                   "); an address can belong to one pool only");
      reported.insert(mine.entry[i]);
      break;
    }
  }
  return errs.Take();
}

}  // namespace ironlb::config
