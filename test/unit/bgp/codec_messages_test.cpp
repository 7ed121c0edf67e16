// Golden bytes, round trips and error paths of header, OPEN, KEEPALIVE, NOTIFICATION and
// ROUTE-REFRESH.
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

TEST(Header, KeepaliveGolden) {
  EXPECT_EQ(EncodeKeepalive(), Msg("0013 | 04"));  // length 19 | type KEEPALIVE
  auto m = DecodeMessage(EncodeKeepalive(), {});
  ASSERT_TRUE(m);
  EXPECT_TRUE(std::holds_alternative<Keepalive>(*m));
}

TEST(Header, MarkerNotAllOnesIsConnectionNotSynchronized) {
  auto b = EncodeKeepalive();
  b[3] = 0;
  auto h = DecodeHeader(b);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, error_code::kMessageHeaderError);
  EXPECT_EQ(h.error().subcode, header_subcode::kConnectionNotSynchronized);
  EXPECT_EQ(h.error().action, ErrorAction::kSessionReset);
}

TEST(Header, BadLengths) {
  for (auto len : {"0012 04", "1001 02", "0014 04", "001c 01", "0016 02", "0014 03"}) {
    auto h = DecodeHeader(Msg(len));
    ASSERT_FALSE(h) << len;
    EXPECT_EQ(h.error().code, error_code::kMessageHeaderError) << len;
    EXPECT_EQ(h.error().subcode, header_subcode::kBadMessageLength) << len;
  }
  // RFC 4271 6.1: the data is the erroneous length.
  EXPECT_EQ(DecodeHeader(Msg("0012 04")).error().data, Hex("0012"));
  EXPECT_FALSE(DecodeHeader(Hex("ffff")));  // shorter than a header
}

TEST(Header, BadType) {
  auto h = DecodeHeader(Msg("0013 09"));
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().subcode, header_subcode::kBadMessageType);
  EXPECT_EQ(h.error().data, Hex("09"));
}

TEST(Header, LengthFieldMustMatchMessage) {
  auto b = EncodeKeepalive();
  b.push_back(0);
  EXPECT_FALSE(DecodeMessage(b, {}));
}

TEST(Header, KeepaliveWithBodyIsBadLength) {
  auto k = DecodeKeepalive(Hex("00"));
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().subcode, header_subcode::kBadMessageLength);
}

// OPEN from AS 65001, hold 90, id 10.0.0.1, MP v4+v6 unicast, route refresh, GR, 4-octet AS.
const char* kOpenGolden =
    "003b | 01 |"              // length 59, type OPEN
    "04 | fde9 | 005a |"       // version 4, My AS 65001, hold time 90
    "0a000001 | 1e |"          // BGP identifier 10.0.0.1, optional parameters length 30
    "02 1c |"                  // parameter Capabilities, length 28
    "01 04 0001 00 01 |"       // MP: AFI IPv4, reserved, SAFI unicast
    "01 04 0002 00 01 |"       // MP: AFI IPv6, reserved, SAFI unicast
    "02 00 |"                  // route refresh
    "40 06 0078 0001 01 80 |"  // GR: restart time 120, IPv4/unicast forwarding preserved
    "41 04 0000fde9";          // 4-octet AS 65001

Open GoldenOpen() {
  Capabilities c;
  c.multiprotocol = {{kAfiIpv4, kSafiUnicast}, {kAfiIpv6, kSafiUnicast}};
  c.route_refresh = true;
  c.graceful_restart = GracefulRestart{false, 120, {{{kAfiIpv4, kSafiUnicast}, true}}};
  return MakeOpen(65001, 90, 0x0a000001, c);
}

TEST(Open, Golden) {
  EXPECT_EQ(EncodeOpen(GoldenOpen()), Msg(kOpenGolden));
  auto m = DecodeMessage(Msg(kOpenGolden), {});
  ASSERT_TRUE(m);
  EXPECT_EQ(std::get<Open>(*m), GoldenOpen());
}

TEST(Open, FourOctetAsUsesAsTrans) {
  auto o = MakeOpen(4200000000u, 180, 1, {});
  auto b = EncodeOpen(o);
  // My AS = 23456 (AS_TRANS), capability 65 carries 0xfa56ea00.
  EXPECT_EQ(b, Msg("0025 01 | 04 5ba0 00b4 00000001 | 08 | 02 06 | 41 04 fa56ea00"));
  auto back = DecodeOpen(Body(b));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->asn(), 4200000000u);
}

TEST(Open, NoCapabilitiesRoundTrip) {
  Open o;
  o.my_as = 64512;
  o.hold_time_s = 0;
  o.bgp_identifier = 7;
  auto b = EncodeOpen(o);
  EXPECT_EQ(b, Msg("001d 01 | 04 fc00 0000 00000007 | 00"));
  auto back = DecodeOpen(Body(b));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, o);
  EXPECT_EQ(back->asn(), 64512u);
}

TEST(Open, UnknownCapabilityIsKept) {
  auto o = DecodeOpen(Hex("04 fde9 005a 0a000001 05 | 02 03 | 49 01 aa"));
  ASSERT_TRUE(o);
  ASSERT_EQ(o->caps.unknown.size(), 1u);
  EXPECT_EQ(o->caps.unknown[0], (RawCapability{0x49, {0xaa}}));
}

TEST(Open, ExtendedOptionalParameters) {
  // RFC 9072: length 255, type 255, then 2-octet lengths.
  auto o = DecodeOpen(Hex("04 fde9 005a 0a000001 ff | ff 0005 | 02 0002 | 02 00"));
  ASSERT_TRUE(o) << o.error().str();
  EXPECT_TRUE(o->caps.route_refresh);
}

struct OpenErrorCase {
  const char* name;
  const char* body;
  uint8_t code;
  uint8_t subcode;
};

class OpenErrors : public ::testing::TestWithParam<OpenErrorCase> {};

TEST_P(OpenErrors, Rejected) {
  const auto& c = GetParam();
  auto o = DecodeOpen(Hex(c.body));
  ASSERT_FALSE(o) << c.name;
  EXPECT_EQ(o.error().code, c.code) << c.name;
  EXPECT_EQ(o.error().subcode, c.subcode) << c.name;
  EXPECT_EQ(o.error().action, ErrorAction::kSessionReset);
}

INSTANTIATE_TEST_SUITE_P(
    Codec, OpenErrors,
    ::testing::Values(
        OpenErrorCase{"version3", "03 fde9 005a 0a000001 00", error_code::kOpenMessageError,
                      open_subcode::kUnsupportedVersionNumber},
        OpenErrorCase{"hold2", "04 fde9 0002 0a000001 00", error_code::kOpenMessageError,
                      open_subcode::kUnacceptableHoldTime},
        OpenErrorCase{"id0", "04 fde9 005a 00000000 00", error_code::kOpenMessageError,
                      open_subcode::kBadBgpIdentifier},
        OpenErrorCase{"authparam", "04 fde9 005a 0a000001 03 01 01 00",
                      error_code::kOpenMessageError, open_subcode::kUnsupportedOptionalParameter},
        OpenErrorCase{"optlen", "04 fde9 005a 0a000001 05 02 00", error_code::kOpenMessageError,
                      kUnspecificSubcode},
        OpenErrorCase{"truncatedcap", "04 fde9 005a 0a000001 04 02 02 41 04",
                      error_code::kOpenMessageError, kUnspecificSubcode},
        OpenErrorCase{"mplen", "04 fde9 005a 0a000001 05 02 03 01 01 00",
                      error_code::kOpenMessageError, kUnspecificSubcode},
        OpenErrorCase{"as4len", "04 fde9 005a 0a000001 05 02 03 41 01 00",
                      error_code::kOpenMessageError, kUnspecificSubcode},
        OpenErrorCase{"grlen", "04 fde9 005a 0a000001 05 02 03 40 01 00",
                      error_code::kOpenMessageError, kUnspecificSubcode},
        OpenErrorCase{"short", "04 fde9", error_code::kMessageHeaderError,
                      header_subcode::kBadMessageLength}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Open, VersionErrorCarriesSupportedVersion) {
  EXPECT_EQ(DecodeOpen(Hex("03 fde9 005a 0a000001 00")).error().data, Hex("0004"));
}

TEST(Negotiate, MinimumHoldTimeAndCommonFamilies) {
  Open local = GoldenOpen();
  Capabilities rc;
  rc.multiprotocol = {{kAfiIpv6, kSafiUnicast}};
  rc.route_refresh = true;
  Open remote = MakeOpen(4200000000u, 30, 0x0a000002, rc);
  auto n = Negotiate(local, remote, 65001);
  EXPECT_EQ(n.hold_time_s, 30);
  EXPECT_TRUE(n.four_octet_as);
  EXPECT_TRUE(n.route_refresh);
  EXPECT_FALSE(n.ipv4_unicast);
  EXPECT_TRUE(n.ipv6_unicast);
  EXPECT_EQ(n.peer_asn, 4200000000u);
  EXPECT_FALSE(n.ibgp);
}

TEST(Negotiate, NoMultiprotocolMeansIpv4Only) {
  Open local = GoldenOpen();
  Open remote;
  remote.my_as = 65001;
  remote.hold_time_s = 180;
  remote.bgp_identifier = 2;
  auto n = Negotiate(local, remote, 65001);
  EXPECT_TRUE(n.ipv4_unicast);
  EXPECT_FALSE(n.ipv6_unicast);
  EXPECT_FALSE(n.four_octet_as);
  EXPECT_TRUE(n.ibgp);
  EXPECT_EQ(n.hold_time_s, 90);
}

TEST(Notification, AdministrativeShutdownGolden) {
  // code Cease(6), subcode Administrative Shutdown(2), RFC 8203 length 3 + "bye"
  EXPECT_EQ(EncodeNotification(AdministrativeShutdown("bye")), Msg("0019 03 | 06 02 | 03 627965"));
  auto m = DecodeMessage(Msg("0019 03 | 06 02 | 03 627965"), {});
  ASSERT_TRUE(m);
  auto& n = std::get<Notification>(*m);
  EXPECT_EQ(n.str(), "Cease/Administrative Shutdown");
  EXPECT_EQ(n.data, Hex("03 627965"));
}

TEST(Notification, FromError) {
  auto h = DecodeHeader(Msg("0013 09"));
  auto n = NotificationFromError(h.error());
  EXPECT_EQ(EncodeNotification(n), Msg("0016 03 | 01 03 | 09"));
  EXPECT_EQ(n.str(), "Message Header Error/3");
}

TEST(Notification, ShortBody) {
  EXPECT_FALSE(DecodeNotification(Hex("06")));
}

TEST(RouteRefresh, Golden) {
  RouteRefresh rr{kAfiIpv6, 0, kSafiUnicast};
  EXPECT_EQ(EncodeRouteRefresh(rr), Msg("0017 05 | 0002 00 01"));  // AFI IPv6, reserved, SAFI 1
  auto m = DecodeMessage(Msg("0017 05 | 0002 00 01"), {});
  ASSERT_TRUE(m);
  EXPECT_EQ(std::get<RouteRefresh>(*m), rr);
}

TEST(RouteRefresh, BadLengthHasItsOwnCode) {
  auto h = DecodeHeader(Msg("0018 05 0001 00 01 00"));
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().code, error_code::kRouteRefreshMessageError);
  EXPECT_EQ(h.error().subcode, route_refresh_subcode::kInvalidMessageLength);
  EXPECT_FALSE(DecodeRouteRefresh(Hex("0001 00")));
}

}  // namespace
}  // namespace ironlb::bgp
