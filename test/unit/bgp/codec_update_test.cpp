// Golden bytes, round trips and RFC 7606 error handling of UPDATE and its attributes.
#include <gtest/gtest.h>

#include <string>

#include "bgp/codec.h"
#include "hex.h"

namespace ironlb::bgp {
namespace {

using test::Hex;

std::vector<uint8_t> Msg(std::string_view rest) {
  return Hex(std::string(test::kMarker) + std::string(rest));
}
ByteSpan Body(const Bytes& m) {
  return ByteSpan(m).subspan(kHeaderLength);
}
IPAddr A(const char* s) {
  return *IPAddr::Parse(s);
}
IPPrefix P(const char* s) {
  return *IPPrefix::Parse(s);
}

Negotiated Ebgp4() {
  Negotiated n;
  n.four_octet_as = true;
  n.ipv6_unicast = true;
  return n;
}
Negotiated Ibgp4() {
  auto n = Ebgp4();
  n.ibgp = true;
  return n;
}

const char* kUpdateV4Golden =
    "004d 02 |"                              // length 77, UPDATE
    "0000 |"                                 // withdrawn routes length 0
    "0031 |"                                 // total path attribute length 49
    "40 01 01 00 |"                          // ORIGIN (well-known) IGP
    "40 02 06 02 01 0000fde9 |"              // AS_PATH: AS_SEQUENCE of 1: 65001 (4 octets)
    "40 03 04 0a000001 |"                    // NEXT_HOP 10.0.0.1
    "40 05 04 00000064 |"                    // LOCAL_PREF 100
    "c0 08 04 fde8 0064 |"                   // COMMUNITIES (optional transitive) 65000:100
    "c0 20 0c 0000fde9 00000001 00000002 |"  // LARGE_COMMUNITIES 65001:1:2
    "20 c000020a";                           // NLRI 192.0.2.10/32

Update GoldenV4() {
  Update u;
  u.attrs.origin = Origin::kIgp;
  u.attrs.as_path = AsPath{{as_segment::kAsSequence, {65001}}};
  u.attrs.next_hop = A("10.0.0.1");
  u.attrs.local_pref = 100;
  u.attrs.communities = {(65000u << 16) | 100};
  u.attrs.large_communities = {{65001, 1, 2}};
  u.nlri = {P("192.0.2.10/32")};
  return u;
}

TEST(Update, Ipv4Golden) {
  EXPECT_EQ(EncodeUpdate(GoldenV4(), Ibgp4()), Msg(kUpdateV4Golden));
  auto d = DecodeUpdate(Body(Msg(kUpdateV4Golden)), Ibgp4());
  ASSERT_TRUE(d) << d.error().str();
  EXPECT_TRUE(d->errors.empty());
  EXPECT_EQ(d->update, GoldenV4());
}

const char* kUpdateV6Golden =
    "0055 02 | 0000 | 003e |"
    "40 01 01 00 |"
    "40 02 06 02 01 0000fde9 |"
    "90 0e 0026 |"    // MP_REACH_NLRI, optional non-transitive, extended length, 38 octets
    "0002 01 | 10 |"  //   AFI IPv6, SAFI unicast, next hop length 16
    "20010db8000000000000000000000001 | 00 |"  // next hop 2001:db8::1, reserved
    "80 20010db8000000000000000000000010 |"    // 2001:db8::10/128
    "c0 08 04 fde8 00c8";                      // COMMUNITIES 65000:200

TEST(Update, Ipv6MpReachGolden) {
  PathAttributes a;
  a.origin = Origin::kIgp;
  a.as_path = AsPath{{as_segment::kAsSequence, {65001}}};
  a.communities = {(65000u << 16) | 200};
  auto msgs = PackAnnouncements(a, {A("2001:db8::1")}, {P("2001:db8::10/128")}, Ebgp4());
  ASSERT_EQ(msgs.size(), 1u);
  // Attributes come in type-code order: MP_REACH (14) after COMMUNITIES (8).
  const char* ordered =
      "0055 02 | 0000 | 003e | 40 01 01 00 | 40 02 06 02 01 0000fde9 | c0 08 04 fde8 00c8 |"
      "90 0e 0026 0002 01 10 20010db8000000000000000000000001 00 80 "
      "20010db8000000000000000000000010";
  EXPECT_EQ(msgs[0], Msg(ordered));
  // Any order decodes to the same thing.
  auto d = DecodeUpdate(Body(Msg(kUpdateV6Golden)), Ebgp4());
  ASSERT_TRUE(d) << d.error().str();
  EXPECT_TRUE(d->errors.empty());
  ASSERT_TRUE(d->update.attrs.mp_reach);
  EXPECT_EQ(d->update.attrs.mp_reach->next_hops, std::vector<IPAddr>{A("2001:db8::1")});
  EXPECT_EQ(d->update.attrs.mp_reach->nlri, std::vector<IPPrefix>{P("2001:db8::10/128")});
}

TEST(Update, WithdrawGolden) {
  auto v4 = PackWithdrawals({P("192.0.2.10/32"), P("198.51.100.0/24")}, Ebgp4());
  ASSERT_EQ(v4.size(), 1u);
  // withdrawn length 9: /32 192.0.2.10, /24 198.51.100; no attributes
  EXPECT_EQ(v4[0], Msg("0020 02 | 0009 | 20 c000020a | 18 c63364 | 0000"));
  auto v6 = PackWithdrawals({P("2001:db8::/64")}, Ebgp4());
  ASSERT_EQ(v6.size(), 1u);
  // MP_UNREACH_NLRI: AFI 2 SAFI 1, 2001:db8::/64
  EXPECT_EQ(v6[0], Msg("0027 02 | 0000 | 0010 | 90 0f 000c 0002 01 | 40 20010db800000000"));
  auto d = DecodeUpdate(Body(v6[0]), Ebgp4());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->update.attrs.mp_unreach->withdrawn, std::vector<IPPrefix>{P("2001:db8::/64")});
}

TEST(Update, EndOfRib) {
  EXPECT_EQ(EncodeEndOfRib({kAfiIpv4, kSafiUnicast}, Ebgp4()), Msg("0017 02 0000 0000"));
  auto d = DecodeUpdate(Hex("0000 0000"), Ebgp4());
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->update.IsEndOfRib({kAfiIpv4, kSafiUnicast}));
  auto v6 = EncodeEndOfRib({kAfiIpv6, kSafiUnicast}, Ebgp4());
  auto d6 = DecodeUpdate(Body(v6), Ebgp4());
  ASSERT_TRUE(d6);
  EXPECT_TRUE(d6->update.IsEndOfRib({kAfiIpv6, kSafiUnicast}));
  EXPECT_FALSE(d6->update.IsEndOfRib({kAfiIpv4, kSafiUnicast}));
}

TEST(Update, TwoOctetSessionAddsAs4Path) {
  Negotiated two;  // peer without the 4-octet AS capability
  Update u = GoldenV4();
  u.attrs.local_pref.reset();
  u.attrs.as_path = AsPath{{as_segment::kAsSequence, {4200000000u, 65001}}};
  u.attrs.aggregator = Aggregator{4200000000u, 0x0a000001};
  auto b = EncodeUpdate(u, two);
  auto d = DecodeUpdate(Body(b), two);
  ASSERT_TRUE(d) << d.error().str();
  const auto& a = d->update.attrs;
  EXPECT_EQ(*a.as_path, (AsPath{{as_segment::kAsSequence, {kAsTrans, 65001}}}));
  ASSERT_TRUE(a.as4_path);
  EXPECT_EQ(MergeAs4Path(*a.as_path, *a.as4_path), *u.attrs.as_path);
  EXPECT_EQ(a.aggregator->asn, kAsTrans);
  EXPECT_EQ(a.as4_aggregator->asn, 4200000000u);
}

TEST(Update, MergeAs4PathKeepsLeadingTwoOctetAsns) {
  AsPath two{{as_segment::kAsSequence, {65010, kAsTrans, 65001}}};
  AsPath four{{as_segment::kAsSequence, {4200000000u, 65001}}};
  EXPECT_EQ(MergeAs4Path(two, four), (AsPath{{as_segment::kAsSequence, {65010}},
                                             {as_segment::kAsSequence, {4200000000u, 65001}}}));
  // Longer AS4_PATH than AS_PATH: ignored.
  EXPECT_EQ(MergeAs4Path(AsPath{{as_segment::kAsSequence, {1}}}, four),
            (AsPath{{as_segment::kAsSequence, {1}}}));
}

TEST(Update, RoundTripEverything) {
  Update u = GoldenV4();
  u.withdrawn = {P("10.1.0.0/16"), P("0.0.0.0/0")};
  u.attrs.med = 5;
  u.attrs.atomic_aggregate = true;
  u.attrs.aggregator = Aggregator{65001, 0x0a000001};
  u.attrs.as_path->push_back({as_segment::kAsSet, {1, 2, 3}});
  u.attrs.unknown = {RawAttribute{0xc0, 99, {1, 2, 3}}};
  u.attrs.mp_unreach = MpUnreach{{kAfiIpv6, kSafiUnicast}, {P("2001:db8:1::/48")}};
  u.nlri.push_back(P("203.0.113.0/25"));
  auto d = DecodeUpdate(Body(EncodeUpdate(u, Ibgp4())), Ibgp4());
  ASSERT_TRUE(d) << d.error().str();
  EXPECT_TRUE(d->errors.empty());
  EXPECT_EQ(d->update, u);
}

TEST(Update, LongAsPathSplitsIntoSegments) {
  Update u = GoldenV4();
  u.attrs.as_path = AsPath{{as_segment::kAsSequence, std::vector<uint32_t>(300, 65001)}};
  auto d = DecodeUpdate(Body(EncodeUpdate(u, Ibgp4())), Ibgp4());
  ASSERT_TRUE(d);
  ASSERT_EQ(d->update.attrs.as_path->size(), 2u);
  EXPECT_EQ((*d->update.attrs.as_path)[0].asns.size(), 255u);
  EXPECT_EQ((*d->update.attrs.as_path)[1].asns.size(), 45u);
}

TEST(Update, HostBitsBeyondLengthAreCleared) {
  auto d =
      DecodeUpdate(Hex("0002 | 18 c0 00 02 ff | 0000"), Ebgp4());  // /24 with a stray octet? no:
  // A /24 takes 3 octets; the 4th is a second prefix of length 0xff -> invalid network field.
  ASSERT_FALSE(d);
  auto ok = DecodeUpdate(Hex("0004 | 17 c0 00 03 | 0000"), Ebgp4());  // 192.0.3.0/23
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->update.withdrawn[0], P("192.0.2.0/23"));
}

TEST(Update, PackingTenThousandPrefixes) {
  std::vector<IPPrefix> v4, v6;
  for (uint32_t i = 0; i < 10000; ++i) {
    v4.push_back(IPPrefix{IPAddr::V4(0x0a000000 + i), 32});
    v6.push_back(IPPrefix{IPAddr::V6((u128(0x20010db8) << 96) + i), 128});
  }
  PathAttributes a;
  a.origin = Origin::kIgp;
  a.as_path = AsPath{{as_segment::kAsSequence, {65001}}};
  a.local_pref = 100;
  for (auto [prefixes, nh] : {std::pair{&v4, A("10.255.0.1")}, std::pair{&v6, A("2001:db8::1")}}) {
    auto msgs = PackAnnouncements(a, {nh}, *prefixes, Ibgp4());
    size_t total = 0;
    for (const auto& m : msgs) {
      ASSERT_LE(m.size(), kMaxMessageLength);
      auto d = DecodeMessage(m, Ibgp4());
      ASSERT_TRUE(d) << d.error().str();
      const auto& u = std::get<DecodedUpdate>(*d).update;
      total += u.nlri.size() + (u.attrs.mp_reach ? u.attrs.mp_reach->nlri.size() : 0);
    }
    EXPECT_EQ(total, 10000u);
    EXPECT_LT(msgs.size(), 60u);  // packed, not one message per prefix
    auto w = PackWithdrawals(*prefixes, Ibgp4());
    for (const auto& m : w) ASSERT_LE(m.size(), kMaxMessageLength);
  }
}

// ---- RFC 7606 --------------------------------------------------------------------

// Wraps attributes (hex) around NLRI 192.0.2.10/32 into an UPDATE body.
Bytes WithAttrs(const std::string& attrs, const std::string& nlri = "20 c000020a") {
  Bytes a = Hex(attrs), n = Hex(nlri);
  Bytes body{0, 0, static_cast<uint8_t>(a.size() >> 8), static_cast<uint8_t>(a.size())};
  body.insert(body.end(), a.begin(), a.end());
  body.insert(body.end(), n.begin(), n.end());
  return body;
}

const std::string kOrigin = "40 01 01 00 ";
const std::string kAsPath = "40 02 06 02 01 0000fde9 ";
const std::string kNextHop = "40 03 04 0a000001 ";
const std::string kMandatory = kOrigin + kAsPath + kNextHop;

struct AttrCase {
  const char* name;
  std::string attrs;
  ErrorAction action;
  uint8_t subcode;
};

class AttributeErrors : public ::testing::TestWithParam<AttrCase> {};

TEST_P(AttributeErrors, Action) {
  const auto& c = GetParam();
  auto d = DecodeUpdate(WithAttrs(c.attrs), Ebgp4());
  if (c.action == ErrorAction::kSessionReset) {
    ASSERT_FALSE(d) << c.name;
    EXPECT_EQ(d.error().code, error_code::kUpdateMessageError);
    EXPECT_EQ(d.error().subcode, c.subcode) << c.name;
    return;
  }
  ASSERT_TRUE(d) << c.name << ": " << d.error().str();
  ASSERT_FALSE(d->errors.empty()) << c.name;
  EXPECT_EQ(d->errors[0].action, c.action) << c.name;
  EXPECT_EQ(d->errors[0].subcode, c.subcode) << c.name;
  EXPECT_EQ(d->treat_as_withdraw(), c.action == ErrorAction::kTreatAsWithdraw) << c.name;
}

using EA = ErrorAction;
namespace us = update_subcode;
INSTANTIATE_TEST_SUITE_P(
    Rfc7606, AttributeErrors,
    ::testing::Values(
        AttrCase{"origin_value", "40 01 01 03 " + kAsPath + kNextHop, EA::kTreatAsWithdraw,
                 us::kInvalidOriginAttribute},
        AttrCase{"origin_length", "40 01 02 00 00 " + kAsPath + kNextHop, EA::kTreatAsWithdraw,
                 us::kAttributeLengthError},
        AttrCase{"origin_flags", "c0 01 01 00 " + kAsPath + kNextHop, EA::kTreatAsWithdraw,
                 us::kAttributeFlagsError},
        AttrCase{"as_path_count0", kOrigin + "40 02 02 02 00 " + kNextHop, EA::kTreatAsWithdraw,
                 us::kMalformedAsPath},
        AttrCase{"as_path_short", kOrigin + "40 02 04 02 01 0000 " + kNextHop, EA::kTreatAsWithdraw,
                 us::kMalformedAsPath},
        AttrCase{"as_path_segtype", kOrigin + "40 02 06 07 01 0000fde9 " + kNextHop,
                 EA::kTreatAsWithdraw, us::kMalformedAsPath},
        AttrCase{"next_hop_length", kOrigin + kAsPath + "40 03 05 0a00000100 ",
                 EA::kTreatAsWithdraw, us::kAttributeLengthError},
        AttrCase{"med_length", kMandatory + "80 04 02 0001", EA::kTreatAsWithdraw,
                 us::kAttributeLengthError},
        AttrCase{"med_flags", kMandatory + "40 04 04 00000001", EA::kTreatAsWithdraw,
                 us::kAttributeFlagsError},
        AttrCase{"local_pref_length", kMandatory + "40 05 02 0064", EA::kTreatAsWithdraw,
                 us::kAttributeLengthError},
        AttrCase{"communities_length", kMandatory + "c0 08 03 000001", EA::kTreatAsWithdraw,
                 us::kOptionalAttributeError},
        AttrCase{"communities_empty", kMandatory + "c0 08 00", EA::kTreatAsWithdraw,
                 us::kOptionalAttributeError},
        AttrCase{"large_length", kMandatory + "c0 20 08 0000000100000002", EA::kTreatAsWithdraw,
                 us::kOptionalAttributeError},
        AttrCase{"atomic_length", kMandatory + "40 06 01 00", EA::kAttributeDiscard,
                 us::kAttributeLengthError},
        AttrCase{"aggregator_length", kMandatory + "c0 07 06 fde9 0a000001", EA::kAttributeDiscard,
                 us::kAttributeLengthError},
        AttrCase{"repeated_med", kMandatory + "80 04 04 00000001 80 04 04 00000002",
                 EA::kAttributeDiscard, us::kMalformedAttributeList},
        AttrCase{"missing_origin", kAsPath + kNextHop, EA::kTreatAsWithdraw,
                 us::kMissingWellKnownAttribute},
        AttrCase{"missing_next_hop", kOrigin + kAsPath, EA::kTreatAsWithdraw,
                 us::kMissingWellKnownAttribute},
        AttrCase{"overrun", kMandatory + "c0 08 08 00000001", EA::kTreatAsWithdraw,
                 us::kMalformedAttributeList},
        AttrCase{"unknown_well_known", kMandatory + "40 63 00", EA::kSessionReset,
                 us::kUnrecognizedWellKnownAttribute},
        AttrCase{"mp_reach_twice",
                 kMandatory + "90 0e 0009 0001 01 04 0a000001 00 90 0e 0009 0001 01 04 0a000001 00",
                 EA::kSessionReset, us::kMalformedAttributeList},
        AttrCase{"mp_reach_nexthop", kMandatory + "90 0e 0008 0002 01 03 000000 00",
                 EA::kSessionReset, us::kOptionalAttributeError},
        AttrCase{"mp_reach_nlri",
                 kMandatory + "90 0e 0016 0002 01 10 20010db8000000000000000000000001 00 81",
                 EA::kSessionReset, us::kOptionalAttributeError},
        AttrCase{"mp_unreach_short", kMandatory + "90 0f 0002 0002", EA::kSessionReset,
                 us::kOptionalAttributeError}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Rfc7606, As4PathMalformedOnTwoOctetSessionIsDiscarded) {
  Negotiated two;
  auto d =
      DecodeUpdate(WithAttrs(kOrigin + "40 02 04 02 01 fde9 " + kNextHop + "c0 11 03 020100"), two);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->errors.size(), 1u);
  EXPECT_EQ(d->errors[0].action, ErrorAction::kAttributeDiscard);
  EXPECT_FALSE(d->update.attrs.as4_path);
  EXPECT_FALSE(d->treat_as_withdraw());
}

TEST(Rfc7606, As4PathIgnoredBetweenFourOctetSpeakers) {
  auto d = DecodeUpdate(WithAttrs(kMandatory + "c0 11 06 02 01 0000fde9"), Ebgp4());
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->errors.empty());
  EXPECT_FALSE(d->update.attrs.as4_path);
}

TEST(Rfc7606, LocalPrefFromExternalPeerIsDropped) {
  auto d = DecodeUpdate(WithAttrs(kMandatory + "40 05 04 00000064"), Ebgp4());
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->update.attrs.local_pref);
  auto i = DecodeUpdate(WithAttrs(kMandatory + "40 05 04 00000064"), Ibgp4());
  ASSERT_TRUE(i);
  EXPECT_EQ(i->update.attrs.local_pref, 100u);
}

TEST(Rfc7606, MissingLocalPrefOnIbgpIsTreatAsWithdraw) {
  auto d = DecodeUpdate(WithAttrs(kMandatory), Ibgp4());
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->treat_as_withdraw());
}

TEST(Rfc7606, UnknownOptionalIsKept) {
  auto d = DecodeUpdate(WithAttrs(kMandatory + "c0 63 02 abcd"), Ebgp4());
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->errors.empty());
  ASSERT_EQ(d->update.attrs.unknown.size(), 1u);
  EXPECT_EQ(d->update.attrs.unknown[0], (RawAttribute{0xc0, 0x63, {0xab, 0xcd}}));
}

TEST(Rfc7606, MalformedWithNothingToWithdrawResetsSession) {
  auto d = DecodeUpdate(WithAttrs("40 01 01 07", ""), Ebgp4());
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().subcode, update_subcode::kMalformedAttributeList);
}

TEST(Rfc7606, AttributeErrorDataIsTheAttribute) {
  auto d = DecodeUpdate(WithAttrs(kMandatory + "40 63 01 aa"), Ebgp4());
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().data, Hex("40 63 01 aa"));
}

TEST(UpdateErrors, LengthsBeyondMessage) {
  for (auto body : {"0005 00", "0000 0009 400101", "00"}) {
    auto d = DecodeUpdate(Hex(body), Ebgp4());
    ASSERT_FALSE(d) << body;
    EXPECT_EQ(d.error().subcode, update_subcode::kMalformedAttributeList) << body;
  }
}

TEST(UpdateErrors, InvalidNetworkField) {
  for (auto body : {"0002 21 00 0000", "0000 0000 21 0a000001", "0000 0000 20 0a00"}) {
    auto d = DecodeUpdate(Hex(body), Ebgp4());
    ASSERT_FALSE(d) << body;
    EXPECT_EQ(d.error().subcode, update_subcode::kInvalidNetworkField) << body;
    EXPECT_EQ(d.error().action, ErrorAction::kSessionReset);
  }
}

}  // namespace
}  // namespace ironlb::bgp
