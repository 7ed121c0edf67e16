#include "l2/election.h"

namespace ironlb::l2 {
namespace {

// FNV-1a 64 with MurmurHash3's fmix64 finaliser: FNV alone clusters on names that differ in
// their last character ("node-1", "node-2"), the finaliser spreads them.
constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;

uint64_t Fnv(uint64_t h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= kFnvPrime;
  }
  return h;
}

uint64_t Fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

}  // namespace

uint64_t RendezvousScore(const std::string& node, const IPAddr& vip) {
  uint64_t h = Fnv(kFnvOffset, reinterpret_cast<const uint8_t*>(node.data()), node.size());
  const uint8_t sep = 0;
  h = Fnv(h, &sep, 1);
  const auto bytes = vip.bytes();
  h = Fnv(h, bytes.data(), vip.is_v4() ? 4 : 16);
  return Fmix64(h);
}

std::optional<std::string> ElectOwner(const IPAddr& vip, const std::vector<std::string>& eligible,
                                      const std::set<std::string>& healthy) {
  std::optional<std::string> best;
  uint64_t best_score = 0;
  for (const auto& n : eligible) {
    if (!healthy.count(n)) continue;
    const uint64_t s = RendezvousScore(n, vip);
    if (!best || s > best_score || (s == best_score && n < *best)) {
      best = n;
      best_score = s;
    }
  }
  return best;
}

std::vector<Ownership> Elect(const Plan& plan, const std::set<std::string>& healthy) {
  std::vector<Ownership> out;
  out.reserve(plan.vips.size());
  for (const VipPlan& vp : plan.vips)
    out.push_back({vp.vip, ElectOwner(vp.vip, vp.eligible, healthy), vp.services, vp.interfaces});
  return out;
}

}  // namespace ironlb::l2
