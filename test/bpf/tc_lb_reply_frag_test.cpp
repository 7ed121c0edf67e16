// tc_lb and fragmented replies (bpf/reply_frag.h): an endpoint's reply of a VIP flow that leaves
// its kernel in fragments comes out as the VIP's in every fragment -- the first translated like
// any reply (address, port, the L4 checksum of the whole datagram), the later ones readdressed
// after it (IPv4: the header checksum fixed) -- IPv4 and IPv6, exact frames built independently.
// Fragments of a reply that belongs to no VIP flow, and later fragments whose first one was not
// seen, are left alone.
#include "lb_fixture.h"

namespace ironlb::testpkt {
namespace {

const IPAddr kClient4 = Addr("192.0.2.10"), kVip4 = Addr("198.51.100.10");
const IPAddr kEndpoint4 = Addr("10.2.0.5");
const IPAddr kClient6 = Addr("2001:db8::10"), kVip6 = Addr("2001:db8:100::10");
const IPAddr kEndpoint6 = Addr("fd00:2::5");
constexpr uint16_t kVipPort = 53, kEndpointPort = 5353, kClientPort = 40000;
constexpr uint32_t kId4 = 1, kId6 = 2;
constexpr size_t kFirstPart = 1480;  // bytes of the datagram in the first fragment

Bytes Part(const Bytes& s, size_t from, size_t to) {
  return Bytes(s.begin() + from, s.begin() + std::min(to, s.size()));
}

class ReplyFragTest : public LbTest {
 protected:
  void SetUp() override {
    LbTest::SetUp();
    SetLocalEndpoint(kEndpoint4, kEndpointPort, kProtoUDP, kId4, {{kVip4, kVipPort}});
    SetLocalEndpoint(kEndpoint6, kEndpointPort, kProtoUDP, kId6, {{kVip6, kVipPort}});
    SetConntrack(kClient4, kClientPort, kVip4, kVipPort, kProtoUDP, kId4);
    SetConntrack(kClient6, kClientPort, kVip6, kVipPort, kProtoUDP, kId6);
  }

  // The endpoint's 3000-byte answer as it would leave the endpoint (from) or the node (the VIP).
  static Bytes Answer(const IPAddr& from, uint16_t sport, const IPAddr& to) {
    const L4 l4{kProtoUDP, sport, kClientPort, 0, Bytes(3000, 'a'), false};
    return Segment(from, to, l4);
  }
  static Bytes Frag4(const IPAddr& src, const IPAddr& dst, const Bytes& part, uint16_t id,
                     size_t offset, bool more) {
    const IPv4Opts o{64, {}, id, static_cast<uint16_t>((more ? 0x2000 : 0) | offset / 8)};
    return Ether(kClientMac, kNodeMac, kEthIPv4, IPv4(src, dst, kProtoUDP, part, o));
  }
  static Bytes Frag6(const IPAddr& src, const IPAddr& dst, const Bytes& part, uint32_t id,
                     size_t offset, bool more) {
    return Ether(kClientMac, kNodeMac, kEthIPv6,
                 IPv6Fragment(src, dst, kProtoUDP, part, id, static_cast<uint16_t>(offset), more));
  }
};

TEST_F(ReplyFragTest, EveryFragmentOfAVipFlowsReplyLeavesAsTheVip) {
  const Bytes seg = Answer(kEndpoint4, kEndpointPort, kClient4);
  const Bytes out = Answer(kVip4, kVipPort, kClient4);
  EXPECT_EQ(RunTc(Frag4(kEndpoint4, kClient4, Part(seg, 0, kFirstPart), 0x4242, 0, true)).out,
            Frag4(kVip4, kClient4, Part(out, 0, kFirstPart), 0x4242, 0, true));
  EXPECT_EQ(
      RunTc(Frag4(kEndpoint4, kClient4, Part(seg, kFirstPart, 9000), 0x4242, kFirstPart, false))
          .out,
      Frag4(kVip4, kClient4, Part(seg, kFirstPart, 9000), 0x4242, kFirstPart, false))
      << "the address alone (and the IPv4 header checksum)";

  const Bytes seg6 = Answer(kEndpoint6, kEndpointPort, kClient6);
  const Bytes out6 = Answer(kVip6, kVipPort, kClient6);
  EXPECT_EQ(RunTc(Frag6(kEndpoint6, kClient6, Part(seg6, 0, 1448), 0x10203040, 0, true)).out,
            Frag6(kVip6, kClient6, Part(out6, 0, 1448), 0x10203040, 0, true));
  EXPECT_EQ(RunTc(Frag6(kEndpoint6, kClient6, Part(seg6, 1448, 9000), 0x10203040, 1448, false)).out,
            Frag6(kVip6, kClient6, Part(seg6, 1448, 9000), 0x10203040, 1448, false));
  EXPECT_EQ(ReasonCount(LB_R_REVNAT), 4u);
}

TEST_F(ReplyFragTest, FragmentsOfNoVipFlowAreLeftAlone) {
  const Bytes seg = Answer(kEndpoint4, kEndpointPort, Addr("192.0.2.99"));
  const Bytes first = Frag4(kEndpoint4, Addr("192.0.2.99"), Part(seg, 0, kFirstPart), 7, 0, true);
  const Bytes later =
      Frag4(kEndpoint4, Addr("192.0.2.99"), Part(seg, kFirstPart, 9000), 7, kFirstPart, false);
  const Bytes seg4 = Answer(kEndpoint4, kEndpointPort, kClient4);
  const Bytes orphan =
      Frag4(kEndpoint4, kClient4, Part(seg4, kFirstPart, 9000), 8, kFirstPart, false);
  const Bytes seg6 = Answer(kEndpoint6, kEndpointPort, kClient6);
  const Bytes orphan6 = Frag6(kEndpoint6, kClient6, Part(seg6, 1448, 9000), 9, 1448, false);
  for (const Bytes& f : {first, later, orphan, orphan6}) EXPECT_EQ(RunTc(f).out, f);
  EXPECT_EQ(ReasonCount(LB_R_REVNAT), 0u);
}

}  // namespace
}  // namespace ironlb::testpkt
