// xdp_lb and IPv6 fragments (RFC 8200 4.5) on one node: exact output for a datagram's first
// fragment (balanced by its ports, DNAT'ed with the L4 checksum of the whole datagram updated),
// its later fragments (the first one's endpoint, found by source, destination and identification,
// the address alone rewritten), a later fragment that arrives before its first (dropped, counted),
// atomic fragments, and fragments that are not a VIP's. Across nodes: xdp_lb_encap_test.cpp.
#include "lb_fixture.h"

namespace ironlb::testpkt {
namespace {

const IPAddr kClient6 = Addr("2001:db8::10");
const IPAddr kVip6 = Addr("2001:db8:100::10");
const IPAddr kBackendA6 = Addr("fd00:1::5");
const IPAddr kBackendB6 = Addr("fd00:1::6");
constexpr uint16_t kVipPort = 53, kBackendPort = 5353, kClientPort = 40000;
constexpr uint32_t kSvcUdp = 1, kIdA = 1, kIdB = 2;
constexpr uint32_t kTableSize = 251;
constexpr uint32_t kFragId = 0x01020304;
constexpr size_t kFirstPart = 56;  // bytes of the datagram in the first fragment (8-byte units)

Bytes Part(const Bytes& s, size_t from, size_t to) {
  return Bytes(s.begin() + from, s.begin() + std::min(to, s.size()));
}

class Frag6Test : public LbTest {
 protected:
  void SetUp() override {
    LbTest::SetUp();
    SetBackend(kIdA, kBackendA6, kBackendPort);
    SetBackend(kIdB, kBackendB6, kBackendPort);
    SetService(kVip6, kVipPort, kProtoUDP, kSvcUdp, {kIdA}, 0, kTableSize);
    SetVipAddr(kVip6);
  }

  // The client's datagram (UDP, 100 bytes of payload) and what the endpoint must get of it.
  const L4 udp_{kProtoUDP, kClientPort, kVipPort, 0, Bytes(100, 'f'), false};
  Bytes Datagram() const { return Segment(kClient6, kVip6, udp_); }
  Bytes DatagramForEndpoint(const IPAddr& endpoint) const {
    L4 out = udp_;
    out.dport = kBackendPort;
    return Segment(kClient6, endpoint, out);
  }

  static Bytes Frame(const IPAddr& dst, const Bytes& part, uint32_t id, uint16_t offset,
                     bool more) {
    return Ether(kNodeMac, kClientMac, kEthIPv6,
                 IPv6Fragment(kClient6, dst, kProtoUDP, part, id, offset, more));
  }
};

// The first fragment goes where the whole datagram would; the second follows it even after the
// Maglev table moved the flow elsewhere and conntrack forgot it.
TEST_F(Frag6Test, FragmentsOfOneDatagramReachOneEndpoint) {
  const Bytes seg = Datagram(), seg_out = DatagramForEndpoint(kBackendA6);
  RunResult r1 = RunXdp(Frame(kVip6, Part(seg, 0, kFirstPart), kFragId, 0, true));
  EXPECT_EQ(r1.verdict, static_cast<uint32_t>(XDP_PASS));  // no route here: the kernel forwards
  EXPECT_EQ(r1.out, Frame(kBackendA6, Part(seg_out, 0, kFirstPart), kFragId, 0, true))
      << "address and port rewritten, the UDP checksum (of the whole datagram) updated";

  SetService(kVip6, kVipPort, kProtoUDP, kSvcUdp, {kIdB}, kTableSize, kTableSize);
  lb_ct_key ck = CtKey(kClient6, kClientPort, kVip6, kVipPort, kProtoUDP);
  ASSERT_EQ(bpf_map_delete_elem(fd(LB_MAP_CONNTRACK), &ck), 0);
  RunResult r2 = RunXdp(Frame(kVip6, Part(seg, kFirstPart, 1000), kFragId, kFirstPart, false));
  EXPECT_EQ(r2.verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(r2.out, Frame(kBackendA6, Part(seg, kFirstPart, 1000), kFragId, kFirstPart, false))
      << "the address alone: the bytes are the datagram's own";
  EXPECT_EQ(PerCpuPackets(LB_MAP_BACKEND_STATS, kIdA), 2u);
  EXPECT_EQ(PerCpuPackets(LB_MAP_BACKEND_STATS, kIdB), 0u);

  // Reassembled, the endpoint's datagram checks out: the first fragment's checksum update covers
  // the later fragment's bytes, which it leaves as they were.
  Bytes whole = Part(seg_out, 0, kFirstPart);
  Append(whole, Part(seg, kFirstPart, 1000));
  EXPECT_EQ(whole, seg_out);
}

// Out of order: a later fragment before its first has nowhere known to go. Dropped and counted
// (drop_fragment), as for IPv4; the client's reassembly timer gives up on the datagram as it would
// on a loss. A datagram of another flow, or to an address that is no VIP, is not ours.
TEST_F(Frag6Test, LaterFragmentBeforeItsFirstIsDropped) {
  const Bytes seg = Datagram();
  EXPECT_EQ(
      RunXdp(Frame(kVip6, Part(seg, kFirstPart, 1000), kFragId + 1, kFirstPart, false)).verdict,
      static_cast<uint32_t>(XDP_DROP));
  EXPECT_EQ(ReasonCount(LB_R_DROP_FRAGMENT), 1u);
  // Its first fragment arriving afterwards is balanced as usual (and remembered for the rest).
  EXPECT_EQ(RunXdp(Frame(kVip6, Part(seg, 0, kFirstPart), kFragId + 1, 0, true)).out,
            Frame(kBackendA6, Part(DatagramForEndpoint(kBackendA6), 0, kFirstPart), kFragId + 1, 0,
                  true));

  const Bytes elsewhere =
      Frame(Addr("2001:db8:100::99"), Part(seg, kFirstPart, 1000), kFragId, kFirstPart, false);
  const Bytes first_elsewhere =
      Frame(Addr("2001:db8:100::99"), Part(seg, 0, kFirstPart), kFragId, 0, true);
  const Bytes icmp_frag =
      Ether(kNodeMac, kClientMac, kEthIPv6,
            IPv6Fragment(kClient6, kVip6, kProtoICMPv6, Bytes(64, 'i'), kFragId, 0, true));
  const std::vector<Case> cases = {
      {"a later fragment to an address that is no VIP is the kernel's", elsewhere, XDP_PASS,
       elsewhere},
      {"so is a first fragment to no VIP:port", first_elsewhere, XDP_PASS, first_elsewhere},
      {"a fragment of neither TCP nor UDP is the kernel's", icmp_frag, XDP_PASS, icmp_frag},
  };
  for (const auto& c : cases) Check(c);
  EXPECT_EQ(ReasonCount(LB_R_DROP_FRAGMENT), 1u);
}

// An atomic fragment (RFC 6946: offset 0, no more fragments) is the whole datagram: DNAT'ed, and
// nothing is remembered for fragments that will never come.
TEST_F(Frag6Test, AtomicFragmentIsTheWholeDatagram) {
  const Bytes seg = Datagram();
  RunResult r = RunXdp(Frame(kVip6, seg, kFragId, 0, false));
  EXPECT_EQ(r.out, Frame(kBackendA6, DatagramForEndpoint(kBackendA6), kFragId, 0, false));
  lb_frag_key k{};
  FillAddr(k.src, kClient6);
  FillAddr(k.dst, kVip6);
  k.id = htonl(kFragId);
  k.proto = kProtoUDP;
  k.family = LB_FAMILY_V6;
  lb_frag_value v{};
  EXPECT_NE(bpf_map_lookup_elem(fd("lb_frags"), &k, &v), 0) << "no entry for an atomic fragment";
  RunXdp(Frame(kVip6, Part(seg, 0, kFirstPart), kFragId, 0, true));
  ASSERT_EQ(bpf_map_lookup_elem(fd("lb_frags"), &k, &v), 0) << "a first fragment leaves one";
  EXPECT_EQ(v.backend_id, kIdA);
}

}  // namespace
}  // namespace ironlb::testpkt
