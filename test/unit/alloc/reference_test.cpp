// The free-space index against a brute-force reference: random assign/release sequences must
// hand out exactly the address a walk of the pool from its start would find.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "alloc/address_span.h"
#include "alloc_fixtures.h"

namespace ironlb::alloc {
namespace {

using namespace testing;

// The first address, in written range order, that is not used (and not .0/.255 if avoided).
std::optional<IPAddr> WalkFirstFree(const IPAddressPool& pool, const std::set<IPAddr>& used) {
  for (const auto& r : pool.ranges) {
    for (u128 v = r.first.value(); v <= r.last.value(); ++v) {
      const IPAddr ip = IPAddr::FromValue(r.family(), v);
      if (pool.avoid_buggy_ips && ConfusesBuggyFirmware(ip)) continue;
      if (!used.count(ip)) return ip;
    }
  }
  return std::nullopt;
}

void RunRandom(IPAddressPool pool, unsigned seed) {
  Allocator a;
  a.SetPools(Pools({pool}));
  std::mt19937 rng(seed);
  std::set<IPAddr> used;
  std::map<std::string, IPAddr> held;
  int next = 0;
  for (int step = 0; step < 3000; ++step) {
    if (!held.empty() && rng() % 3 == 0) {
      auto it = held.begin();
      std::advance(it, rng() % held.size());
      a.Release(it->first);
      used.erase(it->second);
      held.erase(it);
      continue;
    }
    const std::string key = "ns/s" + std::to_string(next++);
    const auto want = WalkFirstFree(pool, used);
    auto res = a.Assign(Req(key));
    if (!want) {
      ASSERT_TRUE(std::holds_alternative<std::string>(res)) << "step " << step;
      continue;
    }
    ASSERT_TRUE(std::holds_alternative<Assignment>(res)) << "step " << step;
    const IPAddr got = std::get<Assignment>(res).ips.at(0);
    ASSERT_EQ(got, *want) << "step " << step << ": got " << got.str() << ", walk says "
                          << want->str();
    used.insert(got);
    held.emplace(key, got);
  }
  EXPECT_EQ(a.Usage(pool.meta.name)->assigned_ips, used.size());
}

TEST(Reference, SeveralRangesMatchTheWalk) {
  RunRandom(Pool("p", {"10.0.3.250-10.0.4.5", "10.0.0.0/26", "10.0.9.9-10.0.9.9"}), 1);
}

TEST(Reference, AvoidBuggyIPsMatchesTheWalk) {
  IPAddressPool p = Pool("p", {"10.0.0.200-10.0.2.10", "10.1.0.0/30"});
  p.avoid_buggy_ips = true;
  RunRandom(p, 2);
}

TEST(Reference, SmallPoolExhaustsAndRefillsLikeTheWalk) {
  RunRandom(Pool("p", {"10.0.0.0/29"}), 3);
}

}  // namespace
}  // namespace ironlb::alloc
