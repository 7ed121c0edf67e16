// The heartbeat codec: round trip, golden layout, and every way a forged or damaged frame fails.
#include "l2/heartbeat.h"

#include <gtest/gtest.h>

#include <fstream>

namespace ironlb::l2 {
namespace {

const std::vector<uint8_t> kKey(32, 0x5a);

std::vector<uint8_t> Frame(const Heartbeat& hb = {"node-a", 1700000000000000000ull, 42, true,
                                                  1700000000500000000ull}) {
  return EncodeHeartbeat(hb, kKey);
}

TEST(Heartbeat, RoundTrips) {
  const Heartbeat hb{"node-a", 1700000000000000000ull, 42, false, 1700000000500000000ull};
  const auto d = DecodeHeartbeat(Frame(hb), kKey);
  ASSERT_TRUE(d.heartbeat);
  EXPECT_EQ(*d.heartbeat, hb);
}

TEST(Heartbeat, LayoutIsTheDocumentedOne) {
  const auto f =
      Frame({"n1", 0x0102030405060708ull, 0x1112131415161718ull, true, 0x2122232425262728ull});
  ASSERT_EQ(f.size(), kHeartbeatHeaderLen + 2 + kHmacLen);
  EXPECT_EQ(std::string(f.begin(), f.begin() + 4), "ILBH");
  EXPECT_EQ(f[4], kHeartbeatVersion);
  EXPECT_EQ(f[5], kFlagAvailable);
  EXPECT_EQ(f[6], 0);
  EXPECT_EQ(f[7], 2);
  EXPECT_EQ(f[8], 0x01);
  EXPECT_EQ(f[15], 0x08);
  EXPECT_EQ(f[16], 0x11);
  EXPECT_EQ(f[23], 0x18);
  EXPECT_EQ(f[24], 0x21);
  EXPECT_EQ(f[31], 0x28);
  EXPECT_EQ(f[32], 'n');
  EXPECT_EQ(f[33], '1');
}

TEST(Heartbeat, AnyFlippedBitIsRejected) {
  const auto good = Frame();
  for (size_t i = 0; i < good.size(); ++i) {
    auto bad = good;
    bad[i] ^= 0x01;
    EXPECT_FALSE(DecodeHeartbeat(bad, kKey).heartbeat) << "byte " << i;
  }
}

TEST(Heartbeat, ForgedWithAnotherKeyIsRejected) {
  const std::vector<uint8_t> other(32, 0x33);
  const auto d = DecodeHeartbeat(EncodeHeartbeat({"node-a", 1, 1, true}, other), kKey);
  EXPECT_FALSE(d.heartbeat);
  EXPECT_EQ(d.error, DecodeError::kBadMac);
}

TEST(Heartbeat, MalformedFramesSayWhy) {
  auto f = Frame();
  EXPECT_EQ(DecodeHeartbeat(std::span(f.data(), 10), kKey).error, DecodeError::kTooShort);
  auto magic = f;
  magic[0] = 'X';
  EXPECT_EQ(DecodeHeartbeat(magic, kKey).error, DecodeError::kBadMagic);
  auto version = f;
  version[4] = 9;
  EXPECT_EQ(DecodeHeartbeat(version, kKey).error, DecodeError::kBadVersion);
  version[4] = 1;  // the layout before the echo: its fields would be read at the wrong offsets
  EXPECT_EQ(DecodeHeartbeat(version, kKey).error, DecodeError::kBadVersion);
  auto longer = f;
  longer.push_back(0);
  EXPECT_EQ(DecodeHeartbeat(longer, kKey).error, DecodeError::kBadLength);
  auto zero_name = f;
  zero_name[7] = 0;
  EXPECT_EQ(DecodeHeartbeat(zero_name, kKey).error, DecodeError::kBadLength);
}

TEST(Heartbeat, NameLimit) {
  EXPECT_THROW(EncodeHeartbeat({std::string(kMaxNodeNameLen + 1, 'a'), 1, 1, true}, kKey),
               std::invalid_argument);
  const auto d = DecodeHeartbeat(Frame({std::string(kMaxNodeNameLen, 'a'), 1, 1, true}), kKey);
  ASSERT_TRUE(d.heartbeat);
  EXPECT_EQ(d.heartbeat->node.size(), kMaxNodeNameLen);
}

TEST(Heartbeat, KeyFileTrimsTrailingWhitespaceAndRefusesShortKeys) {
  const std::string path = ::testing::TempDir() + "/l2key";
  std::ofstream(path) << "0123456789abcdef0123\n";
  EXPECT_EQ(LoadKeyFile(path).size(), 20u);
  std::ofstream(path) << "short\n";
  EXPECT_THROW(LoadKeyFile(path), std::runtime_error);
  EXPECT_THROW(LoadKeyFile(path + ".missing"), std::runtime_error);
}

}  // namespace
}  // namespace ironlb::l2
