// The free-space index: interval sets, ranges as dense index spaces, pools of ranges.
#include <gtest/gtest.h>

#include "alloc/address_span.h"
#include "alloc/interval_set.h"
#include "alloc/pool_space.h"
#include "alloc_fixtures.h"

namespace ironlb::alloc {
namespace {

using testing::Ip;
using testing::Pool;
using testing::Range;

u128 Lowest(const IntervalSet& s) {
  bool overflow = false;
  u128 v = s.LowestAbsent(&overflow);
  EXPECT_FALSE(overflow);
  return v;
}

TEST(IntervalSet, MergesAndSplits) {
  IntervalSet s;
  EXPECT_EQ(Lowest(s), 0u);
  EXPECT_TRUE(s.Insert(0));
  EXPECT_TRUE(s.Insert(2));
  EXPECT_FALSE(s.Insert(2));
  EXPECT_EQ(s.intervals(), 2u);
  EXPECT_EQ(Lowest(s), 1u);
  EXPECT_TRUE(s.Insert(1));  // bridges [0] and [2]
  EXPECT_EQ(s.intervals(), 1u);
  EXPECT_EQ(Lowest(s), 3u);
  EXPECT_EQ(s.count(), 3u);
  EXPECT_TRUE(s.Erase(1));  // splits again
  EXPECT_FALSE(s.Erase(1));
  EXPECT_EQ(s.intervals(), 2u);
  EXPECT_TRUE(s.Contains(0));
  EXPECT_FALSE(s.Contains(1));
  EXPECT_TRUE(s.Contains(2));
  EXPECT_EQ(Lowest(s), 1u);
  EXPECT_TRUE(s.Insert(3));  // extends [2] to [2,3]
  EXPECT_EQ(s.intervals(), 2u);
  EXPECT_TRUE(s.Erase(0));
  EXPECT_EQ(Lowest(s), 0u);
  EXPECT_EQ(s.count(), 2u);
}

TEST(IntervalSet, TopOfTheRangeDoesNotWrap) {
  IntervalSet s;
  const u128 max = ~u128(0);
  EXPECT_TRUE(s.Insert(max));
  EXPECT_TRUE(s.Insert(max - 1));
  EXPECT_EQ(s.intervals(), 1u);
  EXPECT_TRUE(s.Contains(max));
  EXPECT_EQ(Lowest(s), 0u);
}

TEST(AddressSpan, PlainRangeIndexesEveryAddress) {
  AddressSpan s(Range("10.0.0.0/24"), false);
  EXPECT_EQ(s.size(), 256u);
  EXPECT_EQ(s.FirstFree()->str(), "10.0.0.0");
  EXPECT_TRUE(s.MarkUsed(Ip("10.0.0.0")));
  EXPECT_FALSE(s.MarkUsed(Ip("10.0.0.0")));
  EXPECT_FALSE(s.MarkUsed(Ip("10.0.1.0")));  // outside
  EXPECT_EQ(s.FirstFree()->str(), "10.0.0.1");
}

TEST(AddressSpan, AvoidBuggyIPsSkipsDotZeroAndDot255) {
  AddressSpan s(Range("10.0.0.0/23"), true);
  EXPECT_EQ(s.size(), 2u * 254u);
  EXPECT_EQ(s.FirstFree()->str(), "10.0.0.1");
  EXPECT_FALSE(s.IndexOf(Ip("10.0.0.255")).has_value());
  EXPECT_FALSE(s.IndexOf(Ip("10.0.1.0")).has_value());
  EXPECT_EQ(*s.IndexOf(Ip("10.0.1.1")), 254u);
  EXPECT_EQ(s.AddressAt(254).str(), "10.0.1.1");
  for (int i = 1; i <= 254; ++i) {
    ASSERT_TRUE(s.MarkUsed(Ip("10.0.0." + std::to_string(i))));
  }
  EXPECT_EQ(s.FirstFree()->str(), "10.0.1.1");

  AddressSpan odd(Range("10.0.0.254-10.0.1.1"), true);
  EXPECT_EQ(odd.size(), 2u);
  EXPECT_EQ(odd.AddressAt(1).str(), "10.0.1.1");

  AddressSpan lone(Range("10.0.0.0-10.0.0.0"), true);
  EXPECT_EQ(lone.size(), 0u);
  EXPECT_TRUE(lone.full());
}

TEST(AddressSpan, AvoidBuggyIPsDoesNotApplyToIPv6) {
  AddressSpan s(Range("2001:db8::/112"), true);
  EXPECT_EQ(s.size(), 65536u);
  EXPECT_EQ(s.FirstFree()->str(), "2001:db8::");
}

TEST(AddressSpan, WholeIPv6SpaceSaturates) {
  AddressSpan s(Range("::/0"), false);
  EXPECT_EQ(s.size(), ~u128(0));
  EXPECT_TRUE(s.MarkUsed(Ip("::")));
  EXPECT_EQ(s.FirstFree()->str(), "::1");
}

TEST(PoolSpace, HandsOutInWrittenRangeOrderPerFamily) {
  PoolSpace p(Pool("p", {"10.0.9.0/31", "2001:db8::/127", "10.0.1.0/31"}));
  EXPECT_EQ(p.FirstFree(Family::kV4)->str(), "10.0.9.0");
  EXPECT_EQ(p.FirstFree(Family::kV6)->str(), "2001:db8::");
  p.MarkUsed(Ip("10.0.9.0"));
  p.MarkUsed(Ip("10.0.9.1"));
  EXPECT_EQ(p.FirstFree(Family::kV4)->str(), "10.0.1.0");
  p.MarkUsed(Ip("10.0.1.0"));
  p.MarkUsed(Ip("10.0.1.1"));
  EXPECT_FALSE(p.FirstFree(Family::kV4).has_value());
  EXPECT_EQ(p.Used(Family::kV4), 4u);
  p.MarkFree(Ip("10.0.9.1"));
  EXPECT_EQ(p.FirstFree(Family::kV4)->str(), "10.0.9.1");
  EXPECT_EQ(p.Size(Family::kV4), 4u);
  EXPECT_EQ(p.Size(Family::kV6), 2u);
  EXPECT_TRUE(p.Contains(Ip("10.0.1.1")));
  EXPECT_FALSE(p.Contains(Ip("10.0.1.2")));
  EXPECT_TRUE(p.HasFamily(Family::kV6));
}

TEST(PoolSpace, OverlappingRangesStayConsistent) {
  PoolSpace p(Pool("p", {"10.0.0.0/30", "10.0.0.2-10.0.0.5"}));
  p.MarkUsed(Ip("10.0.0.2"));
  p.MarkUsed(Ip("10.0.0.3"));
  p.MarkUsed(Ip("10.0.0.0"));
  p.MarkUsed(Ip("10.0.0.1"));
  EXPECT_EQ(p.FirstFree(Family::kV4)->str(), "10.0.0.4");
}

}  // namespace
}  // namespace ironlb::alloc
