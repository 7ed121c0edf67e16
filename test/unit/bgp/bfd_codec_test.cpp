// BFD control packet codec: golden bytes, round trips and every section 6.8.6 discard rule.
#include "bgp/bfd_codec.h"

#include <gtest/gtest.h>

#include "hex.h"

namespace ironlb::bgp::bfd {
namespace {

using std::chrono::milliseconds;
using test::Hex;

// A Down packet as a peer sends it first (RFC 5880 section 4.1 layout).
const std::vector<uint8_t> kDownPacket =
    Hex("20 |"         // Vers 1, Diag 0
        "40 |"         // Sta Down, no flags
        "03 | 18 |"    // Detect Mult 3, Length 24
        "0000 0001 |"  // My Discriminator 1
        "0000 0000 |"  // Your Discriminator 0
        "000f 4240 |"  // Desired Min TX 1,000,000 us (the slow rate while not Up)
        "0004 93e0 |"  // Required Min RX 300,000 us
        "0000 c350");  // Required Min Echo RX 50,000 us

TEST(BfdCodec, DecodesGoldenDownPacket) {
  Decoded d = Decode(kDownPacket);
  ASSERT_TRUE(d.packet) << DropReasonName(d.drop);
  const ControlPacket& p = *d.packet;
  EXPECT_EQ(p.version, kVersion);
  EXPECT_EQ(p.diag, Diag::kNoDiagnostic);
  EXPECT_EQ(p.state, SessionState::kDown);
  EXPECT_FALSE(p.poll || p.final || p.control_plane_independent || p.auth_present || p.demand ||
               p.multipoint);
  EXPECT_EQ(p.detect_mult, 3);
  EXPECT_EQ(p.length, kControlPacketLength);
  EXPECT_EQ(p.my_discriminator, 1u);
  EXPECT_EQ(p.your_discriminator, 0u);
  EXPECT_EQ(p.desired_min_tx, std::chrono::seconds(1));
  EXPECT_EQ(p.required_min_rx, milliseconds(300));
  EXPECT_EQ(p.required_min_echo_rx, milliseconds(50));
  EXPECT_EQ(Encode(p), kDownPacket);
}

// Found by the fuzzer: Length 28 in a 29-byte payload without authentication is valid (section
// 6.8.6 only bounds it by the payload); the extra bytes are ignored and never echoed back, so
// the re-encoded packet must say 24, not claim 28 bytes it does not carry.
TEST(BfdCodec, TrailingBytesAreIgnoredAndNotClaimedOnEncode) {
  std::vector<uint8_t> longer = kDownPacket;
  longer[3] = 28;
  longer.insert(longer.end(), {0xde, 0xad, 0xbe, 0xef, 0x00});
  Decoded d = Decode(longer);
  ASSERT_TRUE(d.packet) << DropReasonName(d.drop);
  EXPECT_EQ(d.packet->length, 28);
  EXPECT_EQ(Encode(*d.packet), kDownPacket);
  longer.resize(27);  // Length 28 but only 27 bytes: discarded
  EXPECT_EQ(Decode(longer).drop, DropReason::kBadLength);
}

// Captured from FRR 8.4 bfdd (tcpdump in the e2e lab): its first packet after coming Up,
// polling to switch from the 1 s slow rate to the profile's 100 ms.
const std::vector<uint8_t> kFrrUpPoll =
    Hex("20 |"         // Vers 1, Diag 0
        "e0 |"         // Sta Up (3 << 6), P
        "03 | 18 |"    // Detect Mult 3, Length 24
        "84e1 e4d9 |"  // My Discriminator
        "01dc ad38 |"  // Your Discriminator (ours)
        "0001 86a0 |"  // Desired Min TX 100,000 us
        "0001 86a0 |"  // Required Min RX 100,000 us
        "0000 c350");  // Required Min Echo RX 50,000 us

TEST(BfdCodec, DecodesFrrUpPoll) {
  Decoded d = Decode(kFrrUpPoll);
  ASSERT_TRUE(d.packet) << DropReasonName(d.drop);
  EXPECT_EQ(d.packet->state, SessionState::kUp);
  EXPECT_TRUE(d.packet->poll);
  EXPECT_FALSE(d.packet->final);
  EXPECT_EQ(d.packet->my_discriminator, 0x84e1e4d9u);
  EXPECT_EQ(d.packet->your_discriminator, 0x01dcad38u);
  EXPECT_EQ(d.packet->desired_min_tx, milliseconds(100));
  EXPECT_EQ(d.packet->required_min_rx, milliseconds(100));
  EXPECT_EQ(Encode(*d.packet), kFrrUpPoll);
}

TEST(BfdCodec, EncodesEveryFlagAndField) {
  ControlPacket p;
  p.diag = Diag::kControlDetectionTimeExpired;
  p.state = SessionState::kUp;
  p.poll = true;
  p.control_plane_independent = true;
  p.demand = true;
  p.detect_mult = 5;
  p.my_discriminator = 0xdeadbeef;
  p.your_discriminator = 0x01020304;
  p.desired_min_tx = milliseconds(100);
  p.required_min_rx = milliseconds(200);
  EXPECT_EQ(Encode(p),
            Hex("21 | ea | 05 18 | deadbeef | 01020304 | 000186a0 | 00030d40 | 00000000"));
  Decoded d = Decode(Encode(p));
  ASSERT_TRUE(d.packet);
  EXPECT_EQ(*d.packet, p);

  ControlPacket f;
  f.state = SessionState::kInit;
  f.final = true;
  f.detect_mult = 1;
  f.my_discriminator = 7;
  f.your_discriminator = 9;
  EXPECT_EQ(Encode(f)[1], 0x90);  // Sta Init (2 << 6) | F
  EXPECT_EQ(*Decode(Encode(f)).packet, f);
}

TEST(BfdCodec, AcceptsTrailingBytesBeyondLength) {
  auto b = kDownPacket;
  b.push_back(0);  // UDP payload longer than Length: Length rules
  EXPECT_TRUE(Decode(b).packet);
}

TEST(BfdCodec, DiagNamesAreTheRfcs) {
  EXPECT_STREQ(DiagName(Diag::kControlDetectionTimeExpired), "Control Detection Time Expired");
  EXPECT_STREQ(DiagName(Diag::kNeighborSignaledSessionDown), "Neighbor Signaled Session Down");
  EXPECT_STREQ(DiagName(Diag::kAdministrativelyDown), "Administratively Down");
  EXPECT_STREQ(DiagName(Diag::kReverseConcatenatedPathDown), "Reverse Concatenated Path Down");
  EXPECT_STREQ(DiagName(static_cast<Diag>(31)), "Reserved");
  EXPECT_STREQ(StateName(SessionState::kAdminDown), "AdminDown");
}

struct DropCase {
  const char* name;
  size_t offset;  // byte to change in kDownPacket (or the new size when truncating)
  uint8_t value;
  DropReason want;
};

TEST(BfdCodec, DiscardsPerSection686) {
  const DropCase cases[] = {
      {"version 2", 0, 0x40, DropReason::kBadVersion},
      {"version 0", 0, 0x00, DropReason::kBadVersion},
      {"length 23", 3, 23, DropReason::kBadLength},
      {"length beyond payload", 3, 25, DropReason::kBadLength},
      {"detect mult 0", 2, 0, DropReason::kZeroDetectMult},
      {"multipoint", 1, 0x41, DropReason::kMultipoint},
      {"your discr 0 while Init", 1, 0x80, DropReason::kZeroYourDiscriminator},
      {"your discr 0 while Up", 1, 0xc0, DropReason::kZeroYourDiscriminator},
  };
  for (const DropCase& c : cases) {
    auto b = kDownPacket;
    b[c.offset] = c.value;
    Decoded d = Decode(b);
    EXPECT_FALSE(d.packet) << c.name;
    EXPECT_EQ(d.drop, c.want) << c.name << ": " << DropReasonName(d.drop);
  }
  auto zero_my = kDownPacket;
  std::fill(zero_my.begin() + 4, zero_my.begin() + 8, 0);
  EXPECT_EQ(Decode(zero_my).drop, DropReason::kZeroMyDiscriminator);

  for (size_t n = 0; n < kControlPacketLength; ++n)
    EXPECT_EQ(Decode(ByteSpan(kDownPacket.data(), n)).drop, DropReason::kTruncated) << n;

  // AdminDown with Your Discriminator zero is legal (a peer that never heard us).
  auto admin = kDownPacket;
  admin[1] = 0x00;
  EXPECT_TRUE(Decode(admin).packet);
}

TEST(BfdCodec, RejectsAuthenticationClearly) {
  auto b = kDownPacket;
  b[1] |= 0x04;  // A bit, but Length 24 is too short for an auth section
  EXPECT_EQ(Decode(b).drop, DropReason::kBadLength);
  b[3] = 28;
  b.insert(b.end(), {0x01, 0x04, 0x01, 0x00});  // Simple Password, Len 4, Key ID 1
  Decoded d = Decode(b);
  EXPECT_FALSE(d.packet);
  EXPECT_EQ(d.drop, DropReason::kAuthNotSupported);
  EXPECT_STREQ(DropReasonName(d.drop), "authentication not supported");
}

}  // namespace
}  // namespace ironlb::bgp::bfd
