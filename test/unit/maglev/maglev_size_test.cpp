// TableSizeFor: prime, monotone, bounded, >= 100 entries per backend until the cap, and stable
// under small changes in the endpoint count (a size change reshuffles the whole table).
#include <gtest/gtest.h>

#include "dataplane/maglev.h"

namespace ironlb::maglev {
namespace {

constexpr size_t kLargestCount = 200000;  // beyond any Service's endpoint count

TEST(MaglevTableSize, PrimeMonotoneAndBounded) {
  uint32_t prev = 0;
  for (size_t n = 0; n <= kLargestCount; ++n) {
    const uint32_t s = TableSizeFor(n);
    ASSERT_TRUE(detail::IsPrime(s)) << n << " -> " << s;
    ASSERT_GE(s, prev) << n;
    ASSERT_GE(s, kMinTableSize) << n;
    ASSERT_LE(s, kMaxTableSize) << n;
    prev = s;
  }
}

TEST(MaglevTableSize, AtLeastHundredEntriesPerBackendUntilTheCap) {
  for (size_t n = 1; n * kEntriesPerBackend <= kMaxTableSize; ++n) {
    EXPECT_GE(TableSizeFor(n), n * kEntriesPerBackend) << n;
    EXPECT_GT(TableSizeFor(n), n) << n;
  }
  EXPECT_EQ(TableSizeFor(kMaxTableSize / kEntriesPerBackend + 1), kMaxTableSize);
  EXPECT_EQ(TableSizeFor(kMaxTableSize - 1), kMaxTableSize);
}

TEST(MaglevTableSize, SmallServicesStaySmall) {
  // 10,000 Services of a few endpoints each must not each cost a 65,537-entry table.
  EXPECT_EQ(TableSizeFor(0), kMinTableSize);
  EXPECT_EQ(TableSizeFor(1), kMinTableSize);
  EXPECT_EQ(TableSizeFor(2), kMinTableSize);
  EXPECT_LE(TableSizeFor(5), 1021u);
  EXPECT_LE(TableSizeFor(10), 2039u);
}

TEST(MaglevTableSize, ChangesOnlyAtAFewSteps) {
  size_t changes = 0;
  for (size_t n = 1; n <= kMaxTableSize; ++n) {
    if (TableSizeFor(n) != TableSizeFor(n - 1)) ++changes;
  }
  // One change per rung of the ladder: 251 -> 509 -> ... -> 65537 is 8 steps.
  EXPECT_LE(changes, 8u);
}

TEST(MaglevTableSize, IsPrimeAgreesWithKnownValues) {
  for (uint32_t p : {2u, 3u, 5u, 251u, 509u, 65521u, 65537u, 4294967291u})
    EXPECT_TRUE(detail::IsPrime(p)) << p;
  for (uint32_t c : {0u, 1u, 4u, 9u, 255u, 65535u, 65536u, 4294967295u})
    EXPECT_FALSE(detail::IsPrime(c)) << c;
}

}  // namespace
}  // namespace ironlb::maglev
