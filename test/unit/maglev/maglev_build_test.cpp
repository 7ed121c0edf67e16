// Maglev Build: edge cases, input validation, canonical form and order independence.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <stdexcept>

#include "dataplane/maglev.h"
#include "maglev_test_util.h"

namespace ironlb::maglev {
namespace {

using test_util::Counts;
using test_util::Endpoints;
using ::testing::Each;
using ::testing::Lt;

TEST(MaglevBuild, EmptyInputGivesEmptyTable) {
  Table t = Build({}, TableSizeFor(0));
  EXPECT_TRUE(t.backends.empty());
  EXPECT_TRUE(t.entries.empty());
}

TEST(MaglevBuild, AllZeroWeightGivesEmptyTable) {
  Table t = Build({{"a:80/TCP", 0}, {"b:80/TCP", 0}}, kMinTableSize);
  EXPECT_TRUE(t.backends.empty());
  EXPECT_TRUE(t.entries.empty());
}

TEST(MaglevBuild, OneBackendOwnsEveryEntry) {
  Table t = Build({{"10.1.0.5:8080/TCP", 7}}, kMinTableSize);
  ASSERT_EQ(t.backends.size(), 1u);
  ASSERT_EQ(t.entries.size(), kMinTableSize);
  EXPECT_THAT(t.entries, Each(0u));
}

TEST(MaglevBuild, EveryEntryFilledWithAValidIndex) {
  for (size_t n : {2u, 3u, 10u, 99u, 250u, 1000u}) {
    const uint32_t size = TableSizeFor(n);
    Table t = Build(Endpoints(n), size);
    ASSERT_EQ(t.entries.size(), size) << n;
    EXPECT_THAT(t.entries, Each(Lt(n))) << n;
    // Every backend owns at least one entry, so none is silently unreachable.
    EXPECT_THAT(Counts(t), Each(::testing::Gt(0u))) << n;
  }
}

TEST(MaglevBuild, SmallestLegalTableIsFull) {
  // size = n + 1 is the tightest the contract allows; every slot still gets an owner.
  Table t = Build(Endpoints(2), 3);
  ASSERT_EQ(t.entries.size(), 3u);
  EXPECT_THAT(t.entries, Each(Lt(2u)));
}

TEST(MaglevBuild, RejectsNonPrimeSize) {
  EXPECT_THROW(Build(Endpoints(3), 256), std::invalid_argument);
  EXPECT_THROW(Build(Endpoints(3), 65536), std::invalid_argument);
  EXPECT_THROW(Build(Endpoints(1), 1), std::invalid_argument);
}

TEST(MaglevBuild, RejectsSizeNotAboveBackendCount) {
  EXPECT_THROW(Build(Endpoints(3), 3), std::invalid_argument);
  EXPECT_THROW(Build(Endpoints(3), 2), std::invalid_argument);
  EXPECT_NO_THROW(Build(Endpoints(4), 5));
}

TEST(MaglevBuild, BackendsSortedAndZeroWeightRemoved) {
  Table t = Build({{"c:80/TCP", 1}, {"a:80/TCP", 0}, {"b:80/TCP", 2}}, kMinTableSize);
  EXPECT_EQ(t.backends, (std::vector<Backend>{{"b:80/TCP", 2}, {"c:80/TCP", 1}}));
}

TEST(MaglevBuild, DuplicateIdsMergeToLargestWeightInAnyOrder) {
  const Table want = Build({{"a:80/TCP", 3}, {"b:80/TCP", 1}}, kMinTableSize);
  const Table dup1 = Build({{"a:80/TCP", 1}, {"b:80/TCP", 1}, {"a:80/TCP", 3}}, kMinTableSize);
  const Table dup2 = Build({{"a:80/TCP", 3}, {"b:80/TCP", 1}, {"a:80/TCP", 1}}, kMinTableSize);
  const Table dup3 = Build({{"a:80/TCP", 0}, {"a:80/TCP", 3}, {"b:80/TCP", 1}}, kMinTableSize);
  EXPECT_EQ(dup1, want);
  EXPECT_EQ(dup2, want);
  EXPECT_EQ(dup3, want);
}

TEST(MaglevBuild, SameSetInAnyOrderGivesIdenticalTable) {
  // Mixed weights, a zero weight and a duplicate, so canonicalisation is exercised too.
  std::vector<Backend> input = Endpoints(100);
  for (size_t i = 0; i < input.size(); ++i) input[i].weight = static_cast<uint32_t>(i % 4);
  input.push_back(input[5]);
  input.push_back({input[6].id, 1});
  const uint32_t size = TableSizeFor(input.size());
  const Table reference = Build(input, size);
  ASSERT_EQ(reference.entries.size(), size);

  std::mt19937 rng(20160316);  // fixed seed: the test is reproducible
  for (int round = 0; round < 200; ++round) {
    std::shuffle(input.begin(), input.end(), rng);
    ASSERT_EQ(Build(input, size), reference) << "permutation " << round;
  }
}

}  // namespace
}  // namespace ironlb::maglev
