// Golden values: SipHash-2-4 against the reference vectors of its paper, and Maglev tables pinned
// for fixed inputs. Every node must build the same table, and a node running another ironlb
// version during a rolling upgrade must too, or ECMP-shifted flows land on other endpoints. If
// this test fails, the hash, its keys or the population order changed: that is a
// flow-disrupting change to ship deliberately (release note), never by accident.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dataplane/maglev.h"

namespace ironlb::maglev {
namespace {

// The SipHash paper's key 00 01 .. 0f, as two little-endian words.
constexpr uint64_t kRefK0 = 0x0706050403020100ULL;
constexpr uint64_t kRefK1 = 0x0f0e0d0c0b0a0908ULL;

std::string RefMessage(size_t len) {
  std::string m;
  for (size_t i = 0; i < len; ++i) m.push_back(static_cast<char>(i));
  return m;
}

TEST(MaglevGolden, SipHashMatchesReferenceVectors) {
  // Message i is the bytes 00 .. i-1; outputs from the reference implementation's vectors.h,
  // read as little-endian words. Lengths cover empty, sub-word, one word and word+tail.
  const std::vector<std::pair<size_t, uint64_t>> vectors = {
      {0, 0x726fdb47dd0e0e31ULL}, {1, 0x74f839c593dc67fdULL}, {7, 0xab0200f58b01d137ULL},
      {8, 0x93f5f5799a932462ULL}, {9, 0x9e0082df0ba9e4b0ULL}, {15, 0xa129ca6149be45e5ULL},
  };
  for (const auto& [len, want] : vectors) {
    EXPECT_EQ(detail::SipHash24(kRefK0, kRefK1, RefMessage(len)), want) << "length " << len;
  }
}

// A digest of the whole table, so that any moved entry is caught, not only the pinned prefix.
uint64_t Digest(const Table& t) {
  std::string bytes;
  for (uint32_t e : t.entries) {
    for (int shift = 0; shift < 32; shift += 8) bytes.push_back(static_cast<char>(e >> shift));
  }
  return detail::SipHash24(0, 0, bytes);
}

TEST(MaglevGolden, EqualWeightTableIsPinned) {
  const Table t =
      Build({{"10.1.0.5:8080/TCP", 1}, {"10.1.0.6:8080/TCP", 1}, {"10.1.0.7:8080/TCP", 1}}, 251);
  ASSERT_EQ(t.entries.size(), 251u);
  const std::vector<uint32_t> head(t.entries.begin(), t.entries.begin() + 16);
  EXPECT_EQ(head, (std::vector<uint32_t>{1, 1, 2, 1, 0, 2, 1, 1, 1, 1, 0, 0, 0, 2, 1, 0}));
  EXPECT_EQ(Digest(t), 0x6f67aaa2d21255beULL);
}

TEST(MaglevGolden, WeightedIpv6TableIsPinned) {
  const Table t = Build(
      {{"[2001:db8::1]:443/TCP", 1}, {"[2001:db8::2]:443/TCP", 2}, {"[2001:db8::3]:443/TCP", 3}},
      509);
  ASSERT_EQ(t.entries.size(), 509u);
  const std::vector<uint32_t> head(t.entries.begin(), t.entries.begin() + 16);
  EXPECT_EQ(head, (std::vector<uint32_t>{2, 2, 1, 1, 1, 2, 2, 2, 0, 2, 0, 2, 2, 2, 1, 1}));
  EXPECT_EQ(Digest(t), 0xacc2cfdff078f206ULL);
}

}  // namespace
}  // namespace ironlb::maglev
