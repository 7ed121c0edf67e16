// xdp_lb across nodes: exact GUE-encapsulated frames for endpoints on other nodes (outer headers
// built independently here), decapsulation on the endpoint's node (DNAT, conntrack entry, exact
// output), what decapsulation refuses, and a round trip from one node's output into another's.
#include <unistd.h>

#include <cstdlib>

#include "lb_fixture.h"

#ifndef __always_inline
#define __always_inline inline
#endif
#include "flow_hash.h"

namespace ironlb::testpkt {
namespace {

const IPAddr kClient4 = Addr("192.0.2.10");
const IPAddr kVip4 = Addr("198.51.100.10");
const IPAddr kEndpoint4 = Addr("10.2.0.5");  // on node B
const IPAddr kNodeA4 = Addr("203.0.113.21"), kNodeB4 = Addr("203.0.113.22");
const IPAddr kClient6 = Addr("2001:db8::10");
const IPAddr kVip6 = Addr("2001:db8:100::10");
const IPAddr kEndpoint6 = Addr("fd00:2::5");
const IPAddr kNodeA6 = Addr("2001:db8:ff::21"), kNodeB6 = Addr("2001:db8:ff::22");
const Mac kNodeBMac = {0x02, 0, 0, 0, 0, 0x22};
const Mac kVethMac = {0x02, 0, 0, 0, 0, 0x21};
constexpr uint16_t kVipPort = 80, kEndpointPort = 8080, kClientPort = 40000, kGuePort = 6080;
constexpr uint32_t kSvc4 = 1, kSvc6 = 2, kId4 = 1, kId6 = 2;
constexpr uint32_t kTableSize = 251;

L4 Tcp(uint16_t sport = kClientPort, uint16_t dport = kVipPort, Bytes payload = {'h', 'i'}) {
  return {kProtoTCP, sport, dport, kTcpSyn, std::move(payload), false};
}

Bytes InnerIp(const IPAddr& src, const IPAddr& dst, const L4& l4, uint8_t ttl = 64) {
  Bytes seg = Segment(src, dst, l4);
  if (src.is_v4()) return IPv4(src, dst, l4.proto, seg, IPv4Opts{ttl, {}, 0x1234, 0x4000});
  return IPv6(src, dst, l4.proto, seg, ttl);
}

// The GUE datagram as draft-ietf-intarea-gue lays it out, private data naming the endpoint.
Bytes Gue(const IPAddr& from, const IPAddr& to, uint16_t sport, const IPAddr& endpoint,
          uint16_t eport, const Bytes& inner, uint8_t hlen_override = 0) {
  const bool v4 = from.is_v4();
  Bytes d;
  Put16(d, sport);
  Put16(d, kGuePort);
  const size_t priv = v4 ? 8 : 20;
  Put16(d, static_cast<uint16_t>(8 + 4 + priv + inner.size()));
  Put16(d, 0);  // no UDP checksum
  d.push_back(hlen_override ? hlen_override : static_cast<uint8_t>(priv / 4));
  d.push_back(v4 ? 4 : 41);  // IPPROTO_IPIP / IPPROTO_IPV6
  Put16(d, 0);
  Append(d, AddrBytes(endpoint));
  Put16(d, eport);
  Put16(d, 0);
  Append(d, inner);
  if (v4) return IPv4(from, to, kProtoUDP, d, IPv4Opts{64, {}, 0, 0x4000});
  return IPv6(from, to, kProtoUDP, d, 64);
}

// The outer source port the sender must choose: the Maglev flow hash folded into 49152-65535.
uint16_t SportFor(const IPAddr& client, const IPAddr& vip, uint16_t cport, uint16_t vport) {
  lb_ct_key k{};
  FillAddr(k.src, client);
  FillAddr(k.dst, vip);
  k.sport = htons(cport);
  k.dport = htons(vport);
  k.proto = kProtoTCP;
  k.family = FamilyOf(client);
  return static_cast<uint16_t>(49152 | (lb_flow_hash(&k) & 0x3fff));
}

class EncapTest : public LbTest {
 protected:
  void SetUp() override {
    LbTest::SetUp();
    veth_ = "enc" + std::to_string(getpid());
    ASSERT_EQ(
        std::system(("ip link add " + veth_ + "a type veth peer name " + veth_ +
                     "b && ip link set " + veth_ +
                     "a address 02:00:00:00:00:21 && ip link "
                     "set " +
                     veth_ + "a up && ip link set " + veth_ +
                     "b up && "
                     "ip addr add 203.0.113.21/24 dev " +
                     veth_ +
                     "a && "
                     "ip addr add 2001:db8:ff::21/64 dev " +
                     veth_ +
                     "a nodad && "
                     "ip neigh replace 203.0.113.22 lladdr 02:00:00:00:00:22 dev " +
                     veth_ + "a && ip neigh replace 2001:db8:ff::22 lladdr 02:00:00:00:00:22 dev " +
                     veth_ +
                     "a && sysctl -qw net.ipv4.conf.all.forwarding=1 "
                     "net.ipv4.conf.lo.forwarding=1 net.ipv6.conf.all.forwarding=1")
                        .c_str()),
        0);
    veth_index_ = if_nametoindex((veth_ + "a").c_str());
    SetNodeAddrs(kNodeA4, kNodeA6);
    SetRemoteBackend(kId4, kEndpoint4, kEndpointPort, kNodeB4);
    SetRemoteBackend(kId6, kEndpoint6, kEndpointPort, kNodeB6);
    SetService(kVip4, kVipPort, kProtoTCP, kSvc4, {kId4}, 0, kTableSize);
    SetService(kVip6, kVipPort, kProtoTCP, kSvc6, {kId6}, kTableSize, kTableSize);
  }
  void TearDown() override { std::system(("ip link del " + veth_ + "a").c_str()); }

  // Becomes node B: its own addresses, the endpoint its own.
  void BecomeNodeB() {
    SetNodeAddrs(kNodeB4, kNodeB6);
    SetLocalEndpoint(kEndpoint4, kEndpointPort, kProtoTCP, kId4, {{kVip4, kVipPort}});
    SetLocalEndpoint(kEndpoint6, kEndpointPort, kProtoTCP, kId6, {{kVip6, kVipPort}});
  }

  std::string veth_;
  uint32_t veth_index_ = 0;
};

TEST_F(EncapTest, EndpointOnAnotherNodeGetsTheOriginalPacketInGue) {
  const L4 l4 = Tcp();
  const Bytes in = Ether(kNodeMac, kClientMac, kEthIPv4, InnerIp(kClient4, kVip4, l4));
  const uint16_t sport = SportFor(kClient4, kVip4, kClientPort, kVipPort);
  const Bytes want =
      Ether(kNodeBMac, kVethMac, kEthIPv4,
            Gue(kNodeA4, kNodeB4, sport, kEndpoint4, kEndpointPort, InnerIp(kClient4, kVip4, l4)));
  RunResult r = RunXdp(in);
  EXPECT_EQ(r.verdict, static_cast<uint32_t>(XDP_REDIRECT));
  EXPECT_EQ(r.out, want);
  EXPECT_TRUE(ChecksumsValid(Bytes(r.out.begin() + 14 + 40, r.out.end()), 0))
      << "the inner packet is the client's, untouched";
  EXPECT_GE(sport, 49152);
  EXPECT_NE(sport, SportFor(kClient4, kVip4, kClientPort + 1, kVipPort)) << "per-flow entropy";
  EXPECT_EQ(ReasonCount(LB_R_FWD_ENCAP), 1u);

  // Arriving on the interface the tunnel leaves by: straight back out, XDP_TX.
  RunResult tx = RunXdp(in, veth_index_);
  EXPECT_EQ(tx.verdict, static_cast<uint32_t>(XDP_TX));
  EXPECT_EQ(tx.out, want);
}

TEST_F(EncapTest, Ipv6EndpointOnAnotherNode) {
  const L4 l4 = Tcp();
  const Bytes in = Ether(kNodeMac, kClientMac, kEthIPv6, InnerIp(kClient6, kVip6, l4));
  const uint16_t sport = SportFor(kClient6, kVip6, kClientPort, kVipPort);
  RunResult r = RunXdp(in);
  EXPECT_EQ(r.verdict, static_cast<uint32_t>(XDP_REDIRECT));
  EXPECT_EQ(r.out, Ether(kNodeBMac, kVethMac, kEthIPv6,
                         Gue(kNodeA6, kNodeB6, sport, kEndpoint6, kEndpointPort,
                             InnerIp(kClient6, kVip6, l4))));
}

TEST_F(EncapTest, WithoutRouteOrOwnAddressNothingIsSent) {
  const Bytes in = Ether(kNodeMac, kClientMac, kEthIPv4, InnerIp(kClient4, kVip4, Tcp()));
  SetRemoteBackend(kId4, kEndpoint4, kEndpointPort, Addr("198.18.0.1"));  // no route there
  EXPECT_EQ(RunXdp(in).verdict, static_cast<uint32_t>(XDP_DROP));
  SetRemoteBackend(kId4, kEndpoint4, kEndpointPort, kNodeB4);
  SetNodeAddrs(Addr("0.0.0.0"), kNodeA6);
  EXPECT_EQ(RunXdp(in).verdict, static_cast<uint32_t>(XDP_DROP));
  EXPECT_EQ(ReasonCount(LB_R_DROP_ENCAP), 2u);
}

// The XDP metadata xdp_lb puts in front of a frame it hands to tc_lb_ingress (lb_xdp_meta, host
// byte order but for the address).
Bytes ResolveMeta(uint32_t ifindex, const IPAddr& nexthop) {
  Bytes m;
  auto put32 = [&m](uint32_t v) {
    for (int i = 0; i < 4; ++i) m.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  put32(LB_META_RESOLVE);
  put32(ifindex);
  put32(nexthop.is_v4() ? AF_INET : AF_INET6);
  Bytes a = AddrBytes(nexthop);
  a.resize(16, 0);
  Append(m, a);
  return m;
}

// The agent's vouch that tc_lb_ingress runs on the interface frames arrive by (the loopback here),
// until `until_ns` on bpf_ktime_get_ns()'s clock; the MAC is the one frames are addressed to.
uint64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// A node on the uplink's segment that the kernel has no neighbour entry for: XDP cannot resolve it
// nor queue the packet meanwhile, so it finishes the frame (keeping the MACs it came with) and
// passes it up with the FIB's answer in front, for tc_lb_ingress to send with bpf_redirect_neigh;
// counted apart, never dropped while the agent vouches for tc_lb_ingress on the interface.
TEST_F(EncapTest, UnresolvedNextHopIsHandedToTcWithTheFibAnswer) {
  const IPAddr node4 = Addr("203.0.113.23"), node6 = Addr("2001:db8:ff::23");
  SetRemoteBackend(kId4, kEndpoint4, kEndpointPort, node4);
  SetRemoteBackend(kId6, kEndpoint6, kEndpointPort, node6);
  SetIfaceVouch(kLoopbackIfindex, kNodeMac, MonotonicNs() + 10'000'000'000ull);
  const L4 l4 = Tcp();
  RunResult r4 = RunXdp(Ether(kNodeMac, kClientMac, kEthIPv4, InnerIp(kClient4, kVip4, l4)));
  EXPECT_EQ(r4.verdict, static_cast<uint32_t>(XDP_PASS));
  Bytes want4 = ResolveMeta(veth_index_, node4);
  Append(want4, Ether(kNodeMac, kClientMac, kEthIPv4,
                      Gue(kNodeA4, node4, SportFor(kClient4, kVip4, kClientPort, kVipPort),
                          kEndpoint4, kEndpointPort, InnerIp(kClient4, kVip4, l4))));
  EXPECT_EQ(r4.out, want4);
  RunResult r6 = RunXdp(Ether(kNodeMac, kClientMac, kEthIPv6, InnerIp(kClient6, kVip6, l4)));
  EXPECT_EQ(r6.verdict, static_cast<uint32_t>(XDP_PASS));
  Bytes want6 = ResolveMeta(veth_index_, node6);
  Append(want6, Ether(kNodeMac, kClientMac, kEthIPv6,
                      Gue(kNodeA6, node6, SportFor(kClient6, kVip6, kClientPort, kVipPort),
                          kEndpoint6, kEndpointPort, InnerIp(kClient6, kVip6, l4))));
  EXPECT_EQ(r6.out, want6);
  EXPECT_EQ(ReasonCount(LB_R_FWD_ENCAP_RESOLVE), 2u);
  EXPECT_EQ(ReasonCount(LB_R_DROP_NO_NEIGH), 0u);
  EXPECT_EQ(ReasonCount(LB_R_DROP_ENCAP), 0u);
}

// The same frames when nobody vouches for tc_lb_ingress on the interface (the agent found the
// filter gone, or stopped renewing): passed up they would be dropped by the kernel unseen while
// counted as handed off. Dropped here instead, by their own reason, whether the vouch lapsed, was
// never given, or the interface has no entry at all.
TEST_F(EncapTest, UnresolvedNextHopWithoutTcIngressIsDroppedByName) {
  const IPAddr node4 = Addr("203.0.113.23"), node6 = Addr("2001:db8:ff::23");
  SetRemoteBackend(kId4, kEndpoint4, kEndpointPort, node4);
  SetRemoteBackend(kId6, kEndpoint6, kEndpointPort, node6);
  const L4 l4 = Tcp();
  const Bytes in4 = Ether(kNodeMac, kClientMac, kEthIPv4, InnerIp(kClient4, kVip4, l4));
  const Bytes in6 = Ether(kNodeMac, kClientMac, kEthIPv6, InnerIp(kClient6, kVip6, l4));
  EXPECT_EQ(RunXdp(in4).verdict, static_cast<uint32_t>(XDP_DROP)) << "no lb_ifaces entry";
  SetIfaceVouch(kLoopbackIfindex, kNodeMac, 0);
  EXPECT_EQ(RunXdp(in4).verdict, static_cast<uint32_t>(XDP_DROP)) << "never vouched";
  SetIfaceVouch(kLoopbackIfindex, kNodeMac, MonotonicNs() - 1);
  EXPECT_EQ(RunXdp(in4).verdict, static_cast<uint32_t>(XDP_DROP)) << "vouch lapsed";
  EXPECT_EQ(RunXdp(in6).verdict, static_cast<uint32_t>(XDP_DROP)) << "vouch lapsed";
  EXPECT_EQ(ReasonCount(LB_R_DROP_NO_TC_INGRESS), 4u);
  EXPECT_EQ(ReasonCount(LB_R_FWD_ENCAP_RESOLVE), 0u);
  EXPECT_EQ(ReasonCount(LB_R_DROP_NO_NEIGH), 0u);
  // A vouch for another interface says nothing about this one.
  SetIfaceVouch(veth_index_, kVethMac, MonotonicNs() + 10'000'000'000ull);
  EXPECT_EQ(RunXdp(in4).verdict, static_cast<uint32_t>(XDP_DROP));
  EXPECT_EQ(ReasonCount(LB_R_DROP_NO_TC_INGRESS), 5u);
  // A resolved next hop never needs tc: the vouch does not matter to it.
  SetRemoteBackend(kId4, kEndpoint4, kEndpointPort, kNodeB4);
  EXPECT_EQ(RunXdp(in4).verdict, static_cast<uint32_t>(XDP_REDIRECT));
  EXPECT_EQ(ReasonCount(LB_R_FWD_ENCAP), 1u);
}

// A tagged frame whose endpoint is on another node: the tunnel would have to leave by the VLAN
// device the FIB names, which XDP cannot send through (docs/architecture.md, "VLANs across
// nodes"): dropped and counted, never sent untagged onto the wrong segment.
TEST_F(EncapTest, TaggedFrameForAnotherNodeIsDroppedAndCounted) {
  const Bytes in = Ether(kNodeMac, kClientMac, kEthIPv4, InnerIp(kClient4, kVip4, Tcp()), 7);
  EXPECT_EQ(RunXdp(in).verdict, static_cast<uint32_t>(XDP_DROP));
  EXPECT_EQ(ReasonCount(LB_R_DROP_ENCAP), 1u);
}

// A packet that fits the client's path but not the tunnel's (1500-byte MTU here) gets the ICMP
// error any router would send, from the VIP, quoting the packet, with the MTU left after the
// encapsulation; never a silent drop unless the client allowed fragmentation (no DF).
TEST_F(EncapTest, TooBigToEncapsulateAnswersFragmentationNeeded) {
  const L4 big = Tcp(kClientPort, kVipPort, Bytes(1480 - 40, 'b'));
  const Bytes inner = InnerIp(kClient4, kVip4, big);
  ASSERT_EQ(inner.size(), 1480u);
  RunResult r = RunXdp(Ether(kNodeMac, kClientMac, kEthIPv4, inner));
  EXPECT_EQ(r.verdict, static_cast<uint32_t>(XDP_TX));
  Bytes icmp = {3, 4, 0, 0, 0, 0};
  Put16(icmp, 1500 - 40);
  icmp.insert(icmp.end(), inner.begin(), inner.begin() + 88);
  SetChecksum(icmp, 2, Checksum(icmp));
  EXPECT_EQ(r.out, Ether(kClientMac, kNodeMac, kEthIPv4,
                         IPv4(kVip4, kClient4, 1, icmp, IPv4Opts{64, {}, 0, 0})));
  EXPECT_EQ(ReasonCount(LB_R_TX_ICMP_TOO_BIG), 1u);

  const L4 big6 = Tcp(kClientPort, kVipPort, Bytes(1440 - 20, 'b'));
  const Bytes inner6 = InnerIp(kClient6, kVip6, big6);
  ASSERT_EQ(inner6.size(), 1480u);
  RunResult r6 = RunXdp(Ether(kNodeMac, kClientMac, kEthIPv6, inner6));
  EXPECT_EQ(r6.verdict, static_cast<uint32_t>(XDP_TX));
  Bytes icmp6 = {2, 0, 0, 0};
  Put32(icmp6, 1500 - 72);
  icmp6.insert(icmp6.end(), inner6.begin(), inner6.begin() + 96);
  SetChecksum(icmp6, 2, Fold(Sum16(icmp6, PseudoSum(kVip6, kClient6, kProtoICMPv6, icmp6.size()))));
  EXPECT_EQ(r6.out,
            Ether(kClientMac, kNodeMac, kEthIPv6, IPv6(kVip6, kClient6, kProtoICMPv6, icmp6)));
  EXPECT_EQ(ReasonCount(LB_R_TX_ICMP_TOO_BIG), 2u);

  // Without DF the client expects routers to fragment, which the tunnel cannot: counted drop.
  const Bytes no_df = Ether(
      kNodeMac, kClientMac, kEthIPv4,
      IPv4(kClient4, kVip4, kProtoTCP, Segment(kClient4, kVip4, big), IPv4Opts{64, {}, 1, 0}));
  EXPECT_EQ(RunXdp(no_df).verdict, static_cast<uint32_t>(XDP_DROP));
  EXPECT_EQ(ReasonCount(LB_R_DROP_ENCAP), 1u);
  // One byte less than the limit still goes through the tunnel.
  const Bytes fits =
      Ether(kNodeMac, kClientMac, kEthIPv4,
            InnerIp(kClient4, kVip4, Tcp(kClientPort, kVipPort, Bytes(1460 - 40, 'b'))));
  EXPECT_EQ(RunXdp(fits).verdict, static_cast<uint32_t>(XDP_REDIRECT));
}

TEST_F(EncapTest, EndpointsNodeDecapsulatesRecordsAndDeliversLocally) {
  BecomeNodeB();
  const L4 l4 = Tcp();
  L4 dnat = l4;
  dnat.dport = kEndpointPort;
  const Bytes in =
      Ether(kNodeMac, kNodeBMac, kEthIPv4,
            Gue(kNodeA4, kNodeB4, 50000, kEndpoint4, kEndpointPort, InnerIp(kClient4, kVip4, l4)));
  // No route to the endpoint in this namespace: the DNAT'ed inner packet goes to the kernel with
  // the MACs it arrived with.
  RunResult r = RunXdp(in);
  EXPECT_EQ(r.verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(r.out, Ether(kNodeMac, kNodeBMac, kEthIPv4, InnerIp(kClient4, kEndpoint4, dnat)));
  auto ct = GetConntrack(kClient4, kClientPort, kVip4, kVipPort, kProtoTCP);
  ASSERT_TRUE(ct) << "the endpoint's node remembers the flow";
  EXPECT_EQ(ct->backend_id, kId4) << "naming its own slot for the endpoint";
  EXPECT_EQ(ReasonCount(LB_R_DECAP), 1u);
  EXPECT_EQ(PerCpuPackets(LB_MAP_BACKEND_STATS, kId4), 1u);
  // Its second packet finds the entry and copies it into the flow cache: later ones within that
  // second read the copy instead of conntrack.
  EXPECT_TRUE(FlowCacheWays().empty()) << "a new flow copied";
  EXPECT_EQ(RunXdp(in).out, r.out);
  const auto copies = FlowCacheCopies(kClient4, kClientPort, kVip4, kVipPort, kProtoTCP);
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies[0].backend_id, kId4);
  EXPECT_EQ(copies[0].service_id, kSvc4);
  EXPECT_EQ(RunXdp(in).out, r.out);
  EXPECT_EQ(PerCpuPackets(LB_MAP_BACKEND_STATS, kId4), 3u);

  // The reply leaves this node for the client directly, as the VIP.
  const L4 reply{kProtoTCP, kEndpointPort, kClientPort, kTcpSyn | kTcpAck, {}, false};
  L4 reply_out = reply;
  reply_out.sport = kVipPort;
  EXPECT_EQ(RunTc(L4Frame(kClientMac, kNodeMac, kEndpoint4, kClient4, reply)).out,
            L4Frame(kClientMac, kNodeMac, kVip4, kClient4, reply_out));

  const L4 l6 = Tcp();
  L4 dnat6 = l6;
  dnat6.dport = kEndpointPort;
  RunResult r6 = RunXdp(
      Ether(kNodeMac, kNodeBMac, kEthIPv6,
            Gue(kNodeA6, kNodeB6, 50000, kEndpoint6, kEndpointPort, InnerIp(kClient6, kVip6, l6))));
  EXPECT_EQ(r6.verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(r6.out, Ether(kNodeMac, kNodeBMac, kEthIPv6, InnerIp(kClient6, kEndpoint6, dnat6)));
  EXPECT_TRUE(GetConntrack(kClient6, kClientPort, kVip6, kVipPort, kProtoTCP));
}

// A decapsulated packet naming another endpoint than this node's conntrack entry for its flow
// re-points the entry. Copies of the old entry in the flow cache must not outlive that: the
// flow's next packet arriving directly (ECMP moved it here) goes where conntrack now says.
TEST_F(EncapTest, DecapsulationRepointingAFlowRetiresCachedCopies) {
  BecomeNodeB();
  const IPAddr other = Addr("10.2.0.6");
  constexpr uint32_t kOtherId = 5;
  SetBackend(kId4, kEndpoint4, kEndpointPort);  // both endpoints on this node
  SetBackend(kOtherId, other, kEndpointPort);
  SetLocalEndpoint(other, kEndpointPort, kProtoTCP, kOtherId, {{kVip4, kVipPort}});
  auto dst = [](const Bytes& frame) { return Bytes(frame.begin() + 30, frame.begin() + 34); };
  for (uint16_t attempt = 0;; ++attempt) {
    ASSERT_LT(attempt, 5) << "never three packets within one coarse second";
    L4 l4 = Tcp(static_cast<uint16_t>(kClientPort + attempt));
    l4.tcp_flags = kTcpAck;  // mid-flow: SYNs are never copied
    const Bytes direct = Ether(kNodeMac, kClientMac, kEthIPv4, InnerIp(kClient4, kVip4, l4));
    const uint64_t second = CoarseSecond();
    ASSERT_EQ(dst(RunXdp(direct).out), AddrBytes(kEndpoint4)) << "Maglev's endpoint";
    const RunResult r1 = RunXdp(direct);  // conntrack hit: copied
    ASSERT_EQ(dst(r1.out), AddrBytes(kEndpoint4));
    ASSERT_EQ(FlowCacheCopies(kClient4, l4.sport, kVip4, kVipPort, kProtoTCP).size(), 1u);
    const RunResult r2 = RunXdp(
        Ether(kNodeMac, kNodeBMac, kEthIPv4,
              Gue(kNodeA4, kNodeB4, 50000, other, kEndpointPort, InnerIp(kClient4, kVip4, l4))));
    ASSERT_EQ(dst(r2.out), AddrBytes(other)) << "the endpoint the sending node named";
    const RunResult r3 = RunXdp(direct);
    if (CoarseSecond() != second) continue;  // the copy may have lapsed anyway: try again
    EXPECT_EQ(dst(r3.out), AddrBytes(other)) << "a retired copy answered";
    auto ct = GetConntrack(kClient4, l4.sport, kVip4, kVipPort, kProtoTCP);
    ASSERT_TRUE(ct);
    EXPECT_EQ(ct->backend_id, kOtherId);
    break;
  }
}

TEST_F(EncapTest, DecapsulationRefusesWhatIsNotAVipFlowForItsEndpoints) {
  BecomeNodeB();
  const Bytes inner = InnerIp(kClient4, kVip4, Tcp());
  auto gue = [&](const IPAddr& to, const IPAddr& endpoint, const Bytes& in, uint8_t hlen = 0) {
    return Ether(kNodeMac, kNodeBMac, kEthIPv4,
                 Gue(kNodeA4, to, 50000, endpoint, kEndpointPort, in, hlen));
  };
  Bytes probe;
  Put16(probe, 50000);
  Put16(probe, kGuePort);
  Put16(probe, 8);
  Put16(probe, 0);
  const Bytes not_ours = gue(Addr("203.0.113.99"), kEndpoint4, inner);
  const std::vector<Case> cases = {
      {"endpoint that is not this node's", gue(kNodeB4, Addr("10.9.9.9"), inner), XDP_DROP, {}},
      {"inner destination that is no VIP:port",
       gue(kNodeB4, kEndpoint4, InnerIp(kClient4, Addr("198.51.100.99"), Tcp())),
       XDP_DROP,
       {}},
      {"GUE header length that does not fit IPv4",
       gue(kNodeB4, kEndpoint4, inner, 5),
       XDP_DROP,
       {}},
      {"an agent's empty neighbour probe",
       Ether(kNodeMac, kNodeBMac, kEthIPv4, IPv4(kNodeA4, kNodeB4, kProtoUDP, probe)),
       XDP_DROP,
       {}},
      {"UDP to the GUE port of another address is ordinary traffic", not_ours, XDP_PASS, not_ours},
  };
  for (const auto& c : cases) Check(c);
  EXPECT_EQ(ReasonCount(LB_R_DROP_DECAP), 3u) << "the probe is expected: not counted as a drop";
  EXPECT_EQ(ReasonCount(LB_R_DECAP), 0u);
}

// Node A's output, as it reaches node B, comes out of node B as the DNAT'ed client packet.
TEST_F(EncapTest, RoundTripThroughTwoNodes) {
  const L4 l4 = Tcp(41000, kVipPort, Bytes(100, 'x'));
  RunResult a = RunXdp(Ether(kNodeMac, kClientMac, kEthIPv4, InnerIp(kClient4, kVip4, l4)));
  ASSERT_EQ(a.verdict, static_cast<uint32_t>(XDP_REDIRECT));
  BecomeNodeB();
  RunResult b = RunXdp(a.out);
  L4 dnat = l4;
  dnat.dport = kEndpointPort;
  EXPECT_EQ(b.verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(b.out, Ether(kNodeBMac, kVethMac, kEthIPv4, InnerIp(kClient4, kEndpoint4, dnat)));
  EXPECT_TRUE(ChecksumsValid(b.out));
}

// Both fragments of a datagram go to the endpoint's node with the endpoint named, untouched
// inside; that node delivers both to the endpoint.
TEST_F(EncapTest, FragmentsCrossTheTunnelToOneEndpoint) {
  SetVipAddr(kVip4);
  SetService(kVip4, kVipPort, kProtoUDP, 9, {kId4}, 2 * kTableSize, kTableSize);
  const L4 udp{kProtoUDP, kClientPort, kVipPort, 0, Bytes(100, 'f'), false};
  L4 udp_out = udp;
  udp_out.dport = kEndpointPort;
  const Bytes seg = Segment(kClient4, kVip4, udp), seg_out = Segment(kClient4, kEndpoint4, udp_out);
  const Bytes in1 = IPv4(kClient4, kVip4, kProtoUDP, Bytes(seg.begin(), seg.begin() + 56),
                         IPv4Opts{64, {}, 0x99, 0x2000});
  const Bytes in2 = IPv4(kClient4, kVip4, kProtoUDP, Bytes(seg.begin() + 56, seg.end()),
                         IPv4Opts{64, {}, 0x99, 7});
  RunResult a1 = RunXdp(Ether(kNodeMac, kClientMac, kEthIPv4, in1));
  RunResult a2 = RunXdp(Ether(kNodeMac, kClientMac, kEthIPv4, in2));
  ASSERT_EQ(a1.verdict, static_cast<uint32_t>(XDP_REDIRECT));
  ASSERT_EQ(a2.verdict, static_cast<uint32_t>(XDP_REDIRECT));
  for (const auto& [out, inner] : {std::pair{a1.out, in1}, std::pair{a2.out, in2}}) {
    ASSERT_GT(out.size(), 54u);
    EXPECT_EQ(Bytes(out.begin() + 54, out.end()), inner) << "the fragment itself, untouched";
    EXPECT_EQ(Bytes(out.begin() + 46, out.begin() + 52),
              (Bytes{10, 2, 0, 5, kEndpointPort >> 8, kEndpointPort & 0xff}))
        << "GUE names the endpoint";
  }
  BecomeNodeB();
  SetLocalEndpoint(kEndpoint4, kEndpointPort, kProtoUDP, kId4);
  RunResult b1 = RunXdp(a1.out), b2 = RunXdp(a2.out);
  EXPECT_EQ(b1.out, Ether(kNodeBMac, kVethMac, kEthIPv4,
                          IPv4(kClient4, kEndpoint4, kProtoUDP,
                               Bytes(seg_out.begin(), seg_out.begin() + 56),
                               IPv4Opts{64, {}, 0x99, 0x2000})));
  EXPECT_EQ(b2.out, Ether(kNodeBMac, kVethMac, kEthIPv4,
                          IPv4(kClient4, kEndpoint4, kProtoUDP, Bytes(seg.begin() + 56, seg.end()),
                               IPv4Opts{64, {}, 0x99, 7})));
}

// The same for IPv6: node A sends each fragment (Fragment header right after the IPv6 header)
// untouched inside GUE naming the endpoint, the later one by the first one's choice; node B
// DNATs the first (address, port, checksum) and readdresses the later one.
TEST_F(EncapTest, Ipv6FragmentsCrossTheTunnelToOneEndpoint) {
  SetVipAddr(kVip6);
  SetService(kVip6, kVipPort, kProtoUDP, 10, {kId6}, 3 * kTableSize, kTableSize);
  const L4 udp{kProtoUDP, kClientPort, kVipPort, 0, Bytes(100, 'f'), false};
  L4 udp_out = udp;
  udp_out.dport = kEndpointPort;
  const Bytes seg = Segment(kClient6, kVip6, udp), seg_out = Segment(kClient6, kEndpoint6, udp_out);
  constexpr uint32_t kId = 0xabcdef01;
  const Bytes in1 =
      IPv6Fragment(kClient6, kVip6, kProtoUDP, Bytes(seg.begin(), seg.begin() + 56), kId, 0, true);
  const Bytes in2 =
      IPv6Fragment(kClient6, kVip6, kProtoUDP, Bytes(seg.begin() + 56, seg.end()), kId, 56, false);
  RunResult a1 = RunXdp(Ether(kNodeMac, kClientMac, kEthIPv6, in1));
  RunResult a2 = RunXdp(Ether(kNodeMac, kClientMac, kEthIPv6, in2));
  ASSERT_EQ(a1.verdict, static_cast<uint32_t>(XDP_REDIRECT));
  ASSERT_EQ(a2.verdict, static_cast<uint32_t>(XDP_REDIRECT));
  lb_ct_key first{}, later{};
  FillAddr(first.src, kClient6);
  FillAddr(first.dst, kVip6);
  first.sport = htons(kClientPort);
  first.dport = htons(kVipPort);
  first.proto = later.proto = kProtoUDP;
  first.family = later.family = LB_FAMILY_V6;
  FillAddr(later.src, kClient6);
  FillAddr(later.dst, kVip6);
  const uint16_t sport1 = static_cast<uint16_t>(49152 | (lb_flow_hash(&first) & 0x3fff));
  const uint16_t sport2 = static_cast<uint16_t>(49152 | (lb_flow_hash(&later) & 0x3fff));
  EXPECT_EQ(a1.out, Ether(kNodeBMac, kVethMac, kEthIPv6,
                          Gue(kNodeA6, kNodeB6, sport1, kEndpoint6, kEndpointPort, in1)));
  EXPECT_EQ(a2.out, Ether(kNodeBMac, kVethMac, kEthIPv6,
                          Gue(kNodeA6, kNodeB6, sport2, kEndpoint6, kEndpointPort, in2)))
      << "the later fragment: no ports, so the outer source port comes from the addresses alone";

  BecomeNodeB();
  SetLocalEndpoint(kEndpoint6, kEndpointPort, kProtoUDP, kId6);
  RunResult b1 = RunXdp(a1.out), b2 = RunXdp(a2.out);
  EXPECT_EQ(b1.out,
            Ether(kNodeBMac, kVethMac, kEthIPv6,
                  IPv6Fragment(kClient6, kEndpoint6, kProtoUDP,
                               Bytes(seg_out.begin(), seg_out.begin() + 56), kId, 0, true)));
  EXPECT_EQ(b2.out, Ether(kNodeBMac, kVethMac, kEthIPv6,
                          IPv6Fragment(kClient6, kEndpoint6, kProtoUDP,
                                       Bytes(seg.begin() + 56, seg.end()), kId, 56, false)));
  EXPECT_TRUE(GetConntrack(kClient6, kClientPort, kVip6, kVipPort, kProtoUDP))
      << "the first fragment's flow is recorded for the reply";
  EXPECT_EQ(ReasonCount(LB_R_DECAP), 2u);

  // A later fragment naming an endpoint that is not this node's is refused like any GUE packet.
  lb_endpoint_key ek{};
  FillAddr(ek.addr, kEndpoint6);
  ek.port = htons(kEndpointPort);
  ek.proto = kProtoUDP;
  ek.family = LB_FAMILY_V6;
  ASSERT_EQ(bpf_map_delete_elem(fd(LB_MAP_ENDPOINTS), &ek), 0);
  EXPECT_EQ(RunXdp(a2.out).verdict, static_cast<uint32_t>(XDP_DROP));
  EXPECT_EQ(ReasonCount(LB_R_DROP_DECAP), 1u);
}

const IPAddr kRouter4 = Addr("203.0.113.1");

Bytes Icmp(uint8_t type, uint8_t code, uint32_t rest, const Bytes& body) {
  Bytes m = {type, code, 0, 0};
  Put32(m, rest);
  Append(m, body);
  SetChecksum(m, 2, Checksum(m));
  return m;
}

// What a router on the reply path sends the VIP: "fragmentation needed", quoting the start of the
// reply (source `from`:`sport`, the VIP as the client saw it, or the endpoint once translated).
Bytes FragNeededAbout(const IPAddr& to, const IPAddr& from, uint16_t sport) {
  const L4 reply{kProtoTCP, sport, kClientPort, kTcpAck, Bytes(1400, 'r'), false};
  Bytes quoted = IPv4(from, kClient4, kProtoTCP, Segment(from, kClient4, reply),
                      IPv4Opts{63, {}, 0x4321, 0x4000});
  quoted.resize(20 + 8);
  return IPv4(kRouter4, to, 1, Icmp(3, 4, 1400, quoted), IPv4Opts{64, {}, 7, 0});
}

TEST_F(EncapTest, PingToAVipIsAnsweredByTheNode) {
  SetVipAddr(kVip4);
  Bytes echo = {'p', 'i', 'n', 'g'};
  const Bytes in =
      Ether(kNodeMac, kClientMac, kEthIPv4,
            IPv4(kClient4, kVip4, 1, Icmp(8, 0, 0x12340001, echo), IPv4Opts{63, {}, 0x55, 0x4000}));
  RunResult r = RunXdp(in);
  EXPECT_EQ(r.verdict, static_cast<uint32_t>(XDP_TX));
  EXPECT_EQ(r.out, Ether(kClientMac, kNodeMac, kEthIPv4,
                         IPv4(kVip4, kClient4, 1, Icmp(0, 0, 0x12340001, echo),
                              IPv4Opts{64, {}, 0x55, 0x4000})));
  const Bytes other = Ether(kNodeMac, kClientMac, kEthIPv4,
                            IPv4(kClient4, Addr("198.51.100.99"), 1, Icmp(8, 0, 1, echo)));
  EXPECT_EQ(RunXdp(other).out, other) << "not a VIP: the kernel's business";
  EXPECT_EQ(ReasonCount(LB_R_TX_ICMP_ECHO_REPLY), 1u);
}

// The error reaches the node with the VIP as destination; the flow's endpoint is on node B, so
// the error goes there in GUE like the flow's own packets, and node B hands the endpoint an error
// about the endpoint's own address and port: its kernel lowers the path MTU of that socket.
TEST_F(EncapTest, IcmpErrorAboutAVipFlowReachesTheFlowsEndpoint) {
  SetVipAddr(kVip4);
  const Bytes error = FragNeededAbout(kVip4, kVip4, kVipPort);
  RunResult a = RunXdp(Ether(kNodeMac, kClientMac, kEthIPv4, error));
  EXPECT_EQ(a.verdict, static_cast<uint32_t>(XDP_REDIRECT));
  EXPECT_EQ(a.out, Ether(kNodeBMac, kVethMac, kEthIPv4,
                         Gue(kNodeA4, kNodeB4, SportFor(kClient4, kVip4, kClientPort, kVipPort),
                             kEndpoint4, kEndpointPort, error)));
  EXPECT_EQ(ReasonCount(LB_R_FWD_ICMP_ERROR), 1u);
  EXPECT_EQ(ConntrackEntries(), 0u) << "an error creates no flow";

  BecomeNodeB();
  RunResult b = RunXdp(a.out);
  EXPECT_EQ(b.verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(b.out, Ether(kNodeBMac, kVethMac, kEthIPv4,
                         FragNeededAbout(kEndpoint4, kEndpoint4, kEndpointPort)));

  // The endpoint on this very node: translated here.
  SetBackend(kId4, kEndpoint4, kEndpointPort);
  RunResult local = RunXdp(Ether(kNodeMac, kClientMac, kEthIPv4, error));
  EXPECT_EQ(local.verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(local.out, Ether(kNodeMac, kClientMac, kEthIPv4,
                             FragNeededAbout(kEndpoint4, kEndpoint4, kEndpointPort)));
  // An error quoting something the VIP never sent on a served port is left alone.
  const Bytes stray = Ether(kNodeMac, kClientMac, kEthIPv4, FragNeededAbout(kVip4, kVip4, 443));
  EXPECT_EQ(RunXdp(stray).out, stray);
}

const IPAddr kRouter6 = Addr("2001:db8:ff::1");

Bytes Icmp6(uint8_t type, uint32_t rest, const Bytes& body, const IPAddr& src, const IPAddr& dst) {
  Bytes m = {type, 0, 0, 0};
  Put32(m, rest);
  Append(m, body);
  SetChecksum(m, 2, Fold(Sum16(m, PseudoSum(src, dst, kProtoICMPv6, m.size()))));
  return m;
}

Bytes PacketTooBigAbout(const IPAddr& to, const IPAddr& from, uint16_t sport) {
  const L4 reply{kProtoTCP, sport, kClientPort, kTcpAck, Bytes(1400, 'r'), false};
  Bytes quoted = IPv6(from, kClient6, kProtoTCP, Segment(from, kClient6, reply), 63);
  quoted.resize(40 + 8);
  return IPv6(kRouter6, to, kProtoICMPv6, Icmp6(2, 1400, quoted, kRouter6, to), 64);
}

TEST_F(EncapTest, Ipv6PingAndPacketTooBigForAVipFlow) {
  SetVipAddr(kVip6);
  const Bytes echo = {'p', 'i', 'n', 'g'};
  RunResult ping = RunXdp(Ether(
      kNodeMac, kClientMac, kEthIPv6,
      IPv6(kClient6, kVip6, kProtoICMPv6, Icmp6(128, 0x12340001, echo, kClient6, kVip6), 63)));
  EXPECT_EQ(ping.verdict, static_cast<uint32_t>(XDP_TX));
  EXPECT_EQ(ping.out, Ether(kClientMac, kNodeMac, kEthIPv6,
                            IPv6(kVip6, kClient6, kProtoICMPv6,
                                 Icmp6(129, 0x12340001, echo, kVip6, kClient6), 64)));

  const Bytes error = PacketTooBigAbout(kVip6, kVip6, kVipPort);
  RunResult a = RunXdp(Ether(kNodeMac, kClientMac, kEthIPv6, error));
  EXPECT_EQ(a.verdict, static_cast<uint32_t>(XDP_REDIRECT));
  EXPECT_EQ(a.out, Ether(kNodeBMac, kVethMac, kEthIPv6,
                         Gue(kNodeA6, kNodeB6, SportFor(kClient6, kVip6, kClientPort, kVipPort),
                             kEndpoint6, kEndpointPort, error)));
  BecomeNodeB();
  RunResult b = RunXdp(a.out);
  EXPECT_EQ(b.verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(b.out, Ether(kNodeBMac, kVethMac, kEthIPv6,
                         PacketTooBigAbout(kEndpoint6, kEndpoint6, kEndpointPort)));
  SetBackend(kId6, kEndpoint6, kEndpointPort);
  RunResult local = RunXdp(Ether(kNodeMac, kClientMac, kEthIPv6, error));
  EXPECT_EQ(local.out, Ether(kNodeMac, kClientMac, kEthIPv6,
                             PacketTooBigAbout(kEndpoint6, kEndpoint6, kEndpointPort)));
  EXPECT_EQ(ReasonCount(LB_R_FWD_ICMP_ERROR), 2u);
  EXPECT_EQ(ReasonCount(LB_R_TX_ICMP_ECHO_REPLY), 1u);
}

}  // namespace
}  // namespace ironlb::testpkt
