// Gratuitous ARP and unsolicited NA frames, byte for byte; and reading who claims an address.
#include "l2/announce.h"

#include <gtest/gtest.h>

#include "l2/conflict.h"

namespace ironlb::l2 {
namespace {

const Mac kMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};

TEST(Announce, GratuitousArpRequestForm) {
  const auto f = GratuitousArp(kMac, *IPAddr::Parse("198.51.100.10"), false);
  const std::vector<uint8_t> want = {
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0,  0,   0,  0, 0x0a, 0x08, 0x06,  // Ethernet
      0,    1,    0x08, 0,    6,    4,    0,    1,                                 // ARP request
      0x02, 0,    0,    0,    0,    0x0a, 198,  51, 100, 10,                       // sender
      0,    0,    0,    0,    0,    0,    198,  51, 100, 10};                      // target
  ASSERT_EQ(f.size(), 60u);
  EXPECT_EQ(std::vector<uint8_t>(f.begin(), f.begin() + 42), want);
}

TEST(Announce, GratuitousArpReplyFormNamesItselfAsTarget) {
  const auto f = GratuitousArp(kMac, *IPAddr::Parse("198.51.100.10"), true);
  EXPECT_EQ(f[21], 2) << "op reply";
  EXPECT_EQ(std::vector<uint8_t>(f.begin() + 32, f.begin() + 38),
            std::vector<uint8_t>(kMac.begin(), kMac.end()))
      << "Linux takes a reply as gratuitous only when tha == sha";
}

TEST(Announce, UnsolicitedNaWithOverrideAndValidChecksum) {
  const auto f = UnsolicitedNa(kMac, *IPAddr::Parse("2001:db8::10"));
  ASSERT_EQ(f.size(), 14u + 40 + 32);
  EXPECT_EQ(f[0], 0x33);
  EXPECT_EQ(f[5], 0x01);
  EXPECT_EQ(f[12], 0x86);
  EXPECT_EQ(f[13], 0xdd);
  EXPECT_EQ(f[14 + 6], 58) << "next header ICMPv6";
  EXPECT_EQ(f[14 + 7], 255) << "hop limit";
  const size_t icmp = 14 + 40;
  EXPECT_EQ(f[icmp], 136);
  EXPECT_EQ(f[icmp + 4], 0x20) << "Override, not Solicited";
  EXPECT_EQ(f[icmp + 24], 2) << "target link-layer address option";
  // The checksum over pseudo-header + message folds to 0xffff when right.
  std::vector<uint8_t> ph(f.begin() + 22, f.begin() + 54);  // src, dst
  ph.insert(ph.end(), {0, 0, 0, 32, 0, 0, 0, 58});
  ph.insert(ph.end(), f.begin() + icmp, f.end());
  uint32_t sum = 0;
  for (size_t i = 0; i < ph.size(); i += 2) sum += (ph[i] << 8) | ph[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(sum, 0xffffu);
}

TEST(Announce, BothArpFormsForIpv4OneNaForIpv6) {
  EXPECT_EQ(AnnouncementFrames(kMac, *IPAddr::Parse("198.51.100.10")).size(), 2u);
  EXPECT_EQ(AnnouncementFrames(kMac, *IPAddr::Parse("2001:db8::10")).size(), 1u);
}

TEST(Conflict, ArpFramesSayWhoClaimsAnAddress) {
  const auto vip = *IPAddr::Parse("198.51.100.10");
  const auto garp = GratuitousArp(kMac, vip, true);
  EXPECT_EQ(ParseArpClaim(garp), (ArpClaim{kMac, vip}));
  EXPECT_EQ(ParseArpClaim(GratuitousArp(kMac, vip, false)), (ArpClaim{kMac, vip}));
  auto probe = garp;
  std::fill(probe.begin() + 28, probe.begin() + 32, 0);  // sender 0.0.0.0: an RFC 5227 probe
  EXPECT_EQ(ParseArpClaim(probe), std::nullopt);
  auto ipv6 = UnsolicitedNa(kMac, *IPAddr::Parse("2001:db8::10"));
  EXPECT_EQ(ParseArpClaim(ipv6), std::nullopt) << "not ARP";
  EXPECT_EQ(ParseArpClaim(std::span(garp.data(), 30)), std::nullopt) << "truncated";
}

TEST(Conflict, NeighborAdvertisementsSayWhoClaimsAnAddress) {
  const auto vip = *IPAddr::Parse("2001:db8::10");
  const auto na = UnsolicitedNa(kMac, vip);
  EXPECT_EQ(ParseNaClaim(na), (ArpClaim{kMac, vip}));
  // The target link-layer option names the holder, not the Ethernet source (a proxy's NA).
  auto proxied = na;
  proxied[6] = 0x0e;
  EXPECT_EQ(ParseNaClaim(proxied), (ArpClaim{kMac, vip}));
  // Without the option, the Ethernet source is the claimant.
  auto bare = std::vector<uint8_t>(na.begin(), na.end() - 8);
  bare[18] = 0;
  bare[19] = 24;  // IPv6 payload length without the option
  const Mac src = {0x02, 0, 0, 0, 0, 0x0a};
  EXPECT_EQ(ParseNaClaim(bare), (ArpClaim{src, vip}));
  auto hop = na;
  hop[21] = 64;  // RFC 4861: not 255, not from the link
  EXPECT_EQ(ParseNaClaim(hop), std::nullopt);
  auto ns = na;
  ns[54] = 135;  // a solicitation claims nothing
  EXPECT_EQ(ParseNaClaim(ns), std::nullopt);
  auto zero_opt = na;
  zero_opt[79] = 0;  // option length 0 invalidates the packet
  EXPECT_EQ(ParseNaClaim(zero_opt), std::nullopt);
  EXPECT_EQ(ParseNaClaim(GratuitousArp(kMac, *IPAddr::Parse("198.51.100.10"), true)), std::nullopt)
      << "not IPv6";
  EXPECT_EQ(ParseNaClaim(std::span(na.data(), 60)), std::nullopt) << "truncated";
}

}  // namespace
}  // namespace ironlb::l2
