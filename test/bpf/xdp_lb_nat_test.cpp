// xdp_lb's load-balancing path: exact DNAT'ed frames (checksums recomputed independently), the
// reverse translation by tc_lb, conntrack stickiness, the flood guard, no-endpoint drops and
// every malformed input.
#include <net/if.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "dataplane/nexthop_table.h"
#include "lb_fixture.h"
#include "runtime/monotonic.h"

namespace ironlb::testpkt {
namespace {

const IPAddr kClient4 = Addr("192.0.2.10");
const IPAddr kVip4 = Addr("198.51.100.10");
const IPAddr kBackendA4 = Addr("10.1.0.5");
const IPAddr kBackendB4 = Addr("10.1.0.6");
const IPAddr kClient6 = Addr("2001:db8::10");
const IPAddr kVip6 = Addr("2001:db8:100::10");
const IPAddr kBackend6 = Addr("fd00:1::5");
constexpr uint16_t kVipPort = 80, kBackendPort = 8080, kClientPort = 40000;
constexpr uint32_t kSvcTcp = 1, kSvcUdp = 2, kSvc6 = 3, kSvcEmpty = 4;
constexpr uint32_t kIdA = 1, kIdB = 2, kId6 = 3;
constexpr uint16_t kEmptyPort = 81;
constexpr uint32_t kTableSize = 251;

IPv4Opts WithTtl(uint8_t ttl) {
  IPv4Opts o;
  o.ttl = ttl;
  return o;
}

L4 Tcp(uint16_t dport = kVipPort, uint16_t sport = kClientPort, uint8_t flags = kTcpSyn) {
  return {kProtoTCP, sport, dport, flags, Bytes{'h', 'i'}, false};
}
L4 Udp(uint16_t dport = kVipPort, bool zero_csum = false) {
  return {kProtoUDP, kClientPort, dport, 0, Bytes{'d', 'n', 's'}, zero_csum};
}

class NatTest : public LbTest {
 protected:
  void SetUp() override {
    LbTest::SetUp();
    Populate();
  }
  void Populate() {
    SetBackend(kIdA, kBackendA4, kBackendPort);
    SetBackend(kIdB, kBackendB4, kBackendPort);
    SetBackend(kId6, kBackend6, kBackendPort);
    SetService(kVip4, kVipPort, kProtoTCP, kSvcTcp, {kIdA}, 0, kTableSize);
    SetService(kVip4, kVipPort, kProtoUDP, kSvcUdp, {kIdA}, kTableSize, kTableSize);
    SetService(kVip6, kVipPort, kProtoTCP, kSvc6, {kId6}, 2 * kTableSize, kTableSize);
    SetService(kVip4, kEmptyPort, kProtoTCP, kSvcEmpty, {});
  }
};

// The frame the client sends, and the one the endpoint must get: same client address and port,
// destination rewritten, TTL untouched (the kernel forwards it and decrements).
Bytes ToVip(const L4& l4, const IPv4Opts& o = {}, std::optional<uint16_t> vlan = std::nullopt) {
  return L4Frame(kNodeMac, kClientMac, kClient4, kVip4, l4, o, vlan);
}
Bytes ToBackend(L4 l4, const IPAddr& backend = kBackendA4, const IPv4Opts& o = {},
                std::optional<uint16_t> vlan = std::nullopt) {
  l4.dport = kBackendPort;
  return L4Frame(kNodeMac, kClientMac, kClient4, backend, l4, o, vlan);
}

TEST_F(NatTest, ForwardCases) {
  const IPv4Opts with_options{
      64, Bytes{0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00}};  // RA + NOPs + EOL
  L4 tcp6 = Tcp();
  L4 tcp6_out = tcp6;
  tcp6_out.dport = kBackendPort;
  const std::vector<Case> cases = {
      {"TCP SYN to VIP:port is DNAT'ed to the endpoint", ToVip(Tcp()), XDP_PASS, ToBackend(Tcp())},
      {"mid-stream TCP segment too", ToVip(Tcp(kVipPort, 40001, kTcpAck)), XDP_PASS,
       ToBackend(Tcp(kVipPort, 40001, kTcpAck))},
      {"IPv4 options are kept and skipped", ToVip(Tcp(), with_options), XDP_PASS,
       ToBackend(Tcp(), kBackendA4, with_options)},
      {"UDP to VIP:port", ToVip(Udp()), XDP_PASS, ToBackend(Udp())},
      {"UDP without checksum stays without", ToVip(Udp(kVipPort, true)), XDP_PASS,
       ToBackend(Udp(kVipPort, true))},
      {"802.1Q-tagged: DNAT'ed, tag kept, left to the VLAN device", ToVip(Tcp(), {}, 7), XDP_PASS,
       ToBackend(Tcp(), kBackendA4, {}, 7)},
      {"IPv6 TCP", L4Frame(kNodeMac, kClientMac, kClient6, kVip6, tcp6), XDP_PASS,
       L4Frame(kNodeMac, kClientMac, kClient6, kBackend6, tcp6_out)},
      {"VIP on a port without service passes untouched", ToVip(Tcp(443)), XDP_PASS,
       ToVip(Tcp(443))},
      {"other destination passes untouched",
       L4Frame(kNodeMac, kClientMac, kClient4, Addr("192.0.2.1"), Tcp()), XDP_PASS,
       L4Frame(kNodeMac, kClientMac, kClient4, Addr("192.0.2.1"), Tcp())},
      {"TTL 1 is left to the kernel (ICMP time exceeded)", ToVip(Tcp(), WithTtl(1)), XDP_PASS,
       ToVip(Tcp(), WithTtl(1))},
      {"service without ready endpoint drops", ToVip(Tcp(kEmptyPort)), XDP_DROP, {}},
  };
  for (const auto& c : cases) Check(c);
  EXPECT_EQ(ReasonCount(LB_R_DROP_NO_BACKEND), 1u);
  EXPECT_EQ(ReasonCount(LB_R_FWD_KERNEL), 7u);
  EXPECT_EQ(PerCpuPackets(LB_MAP_VIP_STATS, kSvcTcp), 4u);  // TTL 1 is not counted
  EXPECT_EQ(PerCpuPackets(LB_MAP_BACKEND_STATS, kIdA), 6u);
  EXPECT_EQ(PerCpuPackets(LB_MAP_VIP_STATS, kSvcEmpty), 1u);
}

// A switch that floods a unicast frame (destination not learned, table aged out in a failover)
// hands it to every node: only the node whose MAC it names may forward it, or the endpoint gets
// it twice.
TEST_F(NatTest, UnicastForAnotherHostIsNeverForwarded) {
  SetIface(kLoopbackIfindex, kNodeMac);
  const Mac other = {0x02, 0x00, 0x00, 0x00, 0x00, 0xbb};
  const Bytes flooded = L4Frame(other, kClientMac, kClient4, kVip4, Tcp());
  Check({"unicast to another host's MAC: left to the kernel, which drops it", flooded, XDP_PASS,
         flooded});
  Check({"the same to this node's MAC is DNAT'ed", ToVip(Tcp()), XDP_PASS, ToBackend(Tcp())});
  EXPECT_EQ(ReasonCount(LB_R_PASS_OTHER_HOST), 1u);
  EXPECT_EQ(PerCpuPackets(LB_MAP_BACKEND_STATS, kIdA), 1u);
}

TEST_F(NatTest, DnatChecksumsVerifyIndependently) {
  for (const Bytes& in :
       {ToVip(Tcp()), ToVip(Udp()), L4Frame(kNodeMac, kClientMac, kClient6, kVip6, Tcp())}) {
    RunResult r = RunXdp(in);
    ASSERT_EQ(r.verdict, static_cast<uint32_t>(XDP_PASS));
    EXPECT_NE(r.out, in);
    EXPECT_TRUE(ChecksumsValid(r.out));
  }
}

TEST_F(NatTest, MalformedFrames) {
  auto mutate = [](Bytes f, size_t at, uint8_t v) {
    f[at] = v;
    return f;
  };
  auto cut = [](Bytes f, size_t n) {
    f.resize(n);
    return f;
  };
  const Bytes good = ToVip(Tcp());
  const size_t l3 = 14, l4 = 34;
  Bytes long_total = good;
  long_total[l3 + 3] += 40;  // total length beyond the frame
  Bytes short_total = good;  // total length shorter than IHL*4
  short_total[l3 + 2] = 0;
  short_total[l3 + 3] = 16;
  Bytes padded_short_l4 = cut(good, l4 + 10);  // TCP header cut at 10 bytes, total fixed up
  padded_short_l4[l3 + 2] = 0;
  padded_short_l4[l3 + 3] = 30;
  padded_short_l4[l3 + 10] = padded_short_l4[l3 + 11] = 0;
  SetChecksum(padded_short_l4, l3 + 10,
              Checksum(Bytes(padded_short_l4.begin() + l3, padded_short_l4.begin() + l4)));
  const Bytes v6 = L4Frame(kNodeMac, kClientMac, kClient6, kVip6, Tcp());
  const Bytes tagged = ToVip(Tcp(), {}, 7);
  const std::vector<Case> cases = {
      {"802.1Q tag cut off", cut(tagged, 16), XDP_DROP, {}},
      {"QinQ passes to the kernel", mutate(tagged, 16, 0x81), XDP_PASS, mutate(tagged, 16, 0x81)},
      {"IPv4 header truncated", cut(good, l3 + 12), XDP_DROP, {}},
      {"IPv4 version 5", mutate(good, l3, 0x55), XDP_DROP, {}},
      {"IPv4 IHL 4", mutate(good, l3, 0x44), XDP_DROP, {}},
      {"IPv4 IHL 15 beyond the frame", mutate(good, l3, 0x4f), XDP_DROP, {}},
      {"IPv4 total length beyond the frame", long_total, XDP_DROP, {}},
      {"IPv4 total length below the header", short_total, XDP_DROP, {}},
      {"TCP header truncated to a VIP:port", padded_short_l4, XDP_DROP, {}},
      {"IPv6 header truncated", cut(v6, l3 + 30), XDP_DROP, {}},
      {"IPv6 payload length beyond the frame", mutate(v6, l3 + 4, 0x10), XDP_DROP, {}},
      {"IPv6 version 4 in an IPv6 ethertype", mutate(v6, l3, 0x40), XDP_DROP, {}},
      {"IPv6 with extension header passes", mutate(v6, l3 + 6, 60), XDP_PASS,
       mutate(v6, l3 + 6, 60)},
      {"an IPv4 first fragment is balanced like the whole packet",
       ToVip(Tcp(), {64, {}, 1, 0x2000}), XDP_PASS,
       ToBackend(Tcp(), kBackendA4, {64, {}, 1, 0x2000})},
      {"a later fragment of an unknown datagram to another address passes",
       L4Frame(kNodeMac, kClientMac, kClient4, Addr("192.0.2.1"), Tcp(), {64, {}, 1, 0x0010}),
       XDP_PASS,
       L4Frame(kNodeMac, kClientMac, kClient4, Addr("192.0.2.1"), Tcp(), {64, {}, 1, 0x0010})},
  };
  for (const auto& c : cases) Check(c);
  EXPECT_EQ(ReasonCount(LB_R_DROP_MALFORMED_L4), 1u);
  EXPECT_EQ(ReasonCount(LB_R_DROP_MALFORMED_L2), 1u);
}

TEST_F(NatTest, ConntrackKeepsFlowOnItsBackendWhenTheSetChanges) {
  const Bytes flow = ToVip(Tcp());
  ASSERT_EQ(RunXdp(flow).out, ToBackend(Tcp()));
  EXPECT_EQ(ConntrackEntries(), 1u);
  // Now the Maglev table sends everything to B (A drained: still present as a backend).
  SetService(kVip4, kVipPort, kProtoTCP, kSvcTcp, {kIdB}, 0, kTableSize);
  EXPECT_EQ(RunXdp(flow).out, ToBackend(Tcp())) << "established flow moved";
  const Bytes fresh = ToVip(Tcp(kVipPort, 40002));
  EXPECT_EQ(RunXdp(fresh).out, ToBackend(Tcp(kVipPort, 40002), kBackendB4)) << "new flow";
  // When A is gone for good the old flow is re-balanced rather than black-holed.
  lb_backend empty{};
  Put(LB_MAP_BACKENDS, &kIdA, &empty);
  EXPECT_EQ(RunXdp(flow).out, ToBackend(Tcp(), kBackendB4));
}

// An established flow's packets take one lookup (conntrack), the entry's service confirmed by id
// in lb_service_keys. A service removed, or its id handed to another VIP:port, must stop them as
// surely as the lookup in lb_services did; an id slot not (yet) written only costs that lookup.
TEST_F(NatTest, ConntrackHitsFollowTheirServiceById) {
  const Bytes flow = ToVip(Tcp());
  ASSERT_EQ(RunXdp(flow).out, ToBackend(Tcp()));
  ASSERT_EQ(RunXdp(flow).out, ToBackend(Tcp())) << "the hit path";
  EXPECT_EQ(PerCpuPackets(LB_MAP_VIP_STATS, kSvcTcp), 2u) << "counted under the entry's service";

  // No slot for the id (an agent from before the map, or mid-update): the flow still stays on A
  // though Maglev now says B -- conntrack is read, only through lb_services first.
  SetService(kVip4, kVipPort, kProtoTCP, kSvcTcp, {kIdB}, 0, kTableSize);
  const lb_vip_key none{};
  Put(LB_MAP_SERVICE_KEYS, &kSvcTcp, &none);
  EXPECT_EQ(RunXdp(flow).out, ToBackend(Tcp()));
  EXPECT_EQ(RunXdp(ToVip(Tcp(kVipPort, 40002))).out, ToBackend(Tcp(kVipPort, 40002), kBackendB4));

  // The service removed (slot cleared first, as the agent does): not a VIP flow any more.
  SetService(kVip4, kVipPort, kProtoTCP, kSvcTcp, {kIdB}, 0, kTableSize);
  Put(LB_MAP_SERVICE_KEYS, &kSvcTcp, &none);
  lb_vip_key k{};
  FillAddr(k.addr, kVip4);
  k.port = htons(kVipPort);
  k.proto = kProtoTCP;
  k.family = LB_FAMILY_V4;
  ASSERT_EQ(bpf_map_delete_elem(fd(LB_MAP_SERVICES), &k), 0);
  RunResult r = RunXdp(flow);
  EXPECT_EQ(r.verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(r.out, flow) << "a removed service's flow was forwarded";

  // Its id given to another VIP:port: the old flow's entry names the id but not its VIP:port.
  SetService(kVip4, 82, kProtoTCP, kSvcTcp, {kIdB}, 0, kTableSize);
  r = RunXdp(flow);
  EXPECT_EQ(r.verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(r.out, flow) << "an id reused by another VIP:port confirmed an old flow";
  // And back: the VIP:port returns under its id, its flow finds its entry (A) again.
  SetService(kVip4, kVipPort, kProtoTCP, kSvcTcp, {kIdB}, 0, kTableSize);
  EXPECT_EQ(RunXdp(flow).out, ToBackend(Tcp()));
}

// The flow cache (bpf/flow_cache.h) answers an established IPv4 flow from its copy of the flow's
// conntrack entry for the rest of the copy's second, and reads conntrack again the next second,
// so an entry gone from the LRU is noticed within about a second. Here conntrack forgets the
// flow (as the LRU would evict it) while Maglev has moved on to B: the copy keeps the flow on A
// until its second ends, then the flow is placed afresh. A flow is copied at its second packet
// (a conntrack hit), and a SYN never is.
TEST_F(NatTest, FlowCacheAnswersForItsSecondThenConntrackIsReadAgain) {
  const L4 ack = Tcp(kVipPort, kClientPort, kTcpAck);
  const Bytes flow = ToVip(ack);
  const lb_ct_key key = CtKey(kClient4, kClientPort, kVip4, kVipPort, kProtoTCP);
  for (int attempt = 0;; ++attempt) {
    ASSERT_LT(attempt, 5) << "never two packets within one coarse second";
    Load({});
    Populate();
    const uint64_t second = CoarseSecond();
    ASSERT_EQ(RunXdp(flow).out, ToBackend(ack));
    EXPECT_TRUE(FlowCacheWays().empty()) << "copied before conntrack was read back";
    ASSERT_EQ(RunXdp(flow).out, ToBackend(ack));
    const auto copies = FlowCacheCopies(kClient4, kClientPort, kVip4, kVipPort, kProtoTCP);
    ASSERT_EQ(copies.size(), 1u) << "the flow's conntrack entry copied on this CPU";
    EXPECT_EQ(copies[0].backend_id, kIdA);
    EXPECT_EQ(copies[0].service_id, kSvcTcp);
    ASSERT_EQ(bpf_map_delete_elem(fd(LB_MAP_CONNTRACK), &key), 0);
    SetService(kVip4, kVipPort, kProtoTCP, kSvcTcp, {kIdB}, 0, kTableSize);
    const RunResult r = RunXdp(flow);
    if (CoarseSecond() != second) continue;  // the copy's second ended meanwhile: try again
    EXPECT_EQ(r.out, ToBackend(ack)) << "answered by the copy, not by Maglev";
    EXPECT_FALSE(GetConntrack(kClient4, kClientPort, kVip4, kVipPort, kProtoTCP));
    break;
  }
  WaitForNextCoarseSecond();
  EXPECT_EQ(RunXdp(flow).out, ToBackend(ack, kBackendB4)) << "conntrack read again: no entry";
  auto ct = GetConntrack(kClient4, kClientPort, kVip4, kVipPort, kProtoTCP);
  ASSERT_TRUE(ct);
  EXPECT_EQ(ct->backend_id, kIdB);

  const Bytes syn = ToVip(Tcp(kVipPort, 40003));
  RunXdp(syn);
  RunXdp(syn);
  EXPECT_TRUE(GetConntrack(kClient4, 40003, kVip4, kVipPort, kProtoTCP));
  EXPECT_TRUE(FlowCacheCopies(kClient4, 40003, kVip4, kVipPort, kProtoTCP).empty())
      << "a SYN copied";
}

// --flow-cache-entries 0: no copies, every packet reads conntrack; IPv6 flows are never copied.
TEST_F(NatTest, WithoutTheFlowCacheEveryPacketReadsConntrack) {
  dataplane::LoadOptions opts;
  opts.flow_cache_entries = 0;
  Load(opts);
  Populate();
  const L4 ack = Tcp(kVipPort, kClientPort, kTcpAck);
  const Bytes flow = ToVip(ack);
  ASSERT_EQ(RunXdp(flow).out, ToBackend(ack));
  ASSERT_EQ(RunXdp(flow).out, ToBackend(ack));
  EXPECT_TRUE(FlowCacheWays().empty());
  const lb_ct_key key = CtKey(kClient4, kClientPort, kVip4, kVipPort, kProtoTCP);
  ASSERT_EQ(bpf_map_delete_elem(fd(LB_MAP_CONNTRACK), &key), 0);
  SetService(kVip4, kVipPort, kProtoTCP, kSvcTcp, {kIdB}, 0, kTableSize);
  EXPECT_EQ(RunXdp(flow).out, ToBackend(ack, kBackendB4));

  Load({});
  Populate();
  const Bytes flow6 = L4Frame(kNodeMac, kClientMac, kClient6, kVip6, ack);
  RunXdp(flow6);
  RunXdp(flow6);
  EXPECT_TRUE(GetConntrack(kClient6, kClientPort, kVip6, kVipPort, kProtoTCP));
  EXPECT_TRUE(FlowCacheWays().empty()) << "an IPv6 flow copied";
  RunXdp(flow);
  RunXdp(flow);
  EXPECT_EQ(FlowCacheWays().size(), 1u) << "the cache on by default";
}

// A size too small to give every CPU one set turns the cache off, and says so.
TEST_F(NatTest, FlowCacheTooSmallForEveryCpuIsOffAndSaysSo) {
  dataplane::LoadOptions opts;
  opts.flow_cache_entries = 1;
  ::testing::internal::CaptureStderr();
  Load(opts);
  const std::string said = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find("--flow-cache-entries 1 is less than one set"), std::string::npos) << said;
  EXPECT_NE(said.find("the flow cache is off"), std::string::npos) << said;
  Populate();
  const L4 ack = Tcp(kVipPort, kClientPort, kTcpAck);
  ASSERT_EQ(RunXdp(ToVip(ack)).out, ToBackend(ack));
  ASSERT_EQ(RunXdp(ToVip(ack)).out, ToBackend(ack));
  EXPECT_TRUE(FlowCacheWays().empty());
}

TEST_F(NatTest, FloodGuardStopsConntrackInsertsAboveTheRate) {
  dataplane::LoadOptions opts;
  opts.max_ct_inserts_per_sec = 2;
  Load(opts);
  Populate();
  for (uint16_t p = 0; p < 5; ++p) {
    RunResult r = RunXdp(ToVip(Tcp(kVipPort, 41000 + p)));
    EXPECT_EQ(r.out, ToBackend(Tcp(kVipPort, 41000 + p))) << "flows still balanced";
  }
  EXPECT_EQ(ConntrackEntries(), 2u);
  EXPECT_EQ(ReasonCount(LB_R_CT_INSERT_SKIPPED), 3u);
}

TEST_F(NatTest, ReverseTranslationByTc) {
  L4 reply_in = Tcp(kClientPort, kBackendPort, kTcpSyn | kTcpAck);
  L4 reply_out = Tcp(kClientPort, kVipPort, kTcpSyn | kTcpAck);
  SetLocalEndpoint(kBackendA4, kBackendPort, kProtoTCP, kIdA, {{kVip4, kVipPort}});
  SetLocalEndpoint(kBackendA4, kBackendPort, kProtoUDP, kIdA, {{kVip4, kVipPort}});
  SetLocalEndpoint(kBackend6, kBackendPort, kProtoTCP, kId6, {{kVip6, kVipPort}});
  SetConntrack(kClient4, kClientPort, kVip4, kVipPort, kProtoTCP, kIdA);
  SetConntrack(kClient4, kClientPort, kVip4, kVipPort, kProtoUDP, kIdA);
  SetConntrack(kClient6, kClientPort, kVip6, kVipPort, kProtoTCP, kId6);
  // A flow from another port that went to another endpoint: not this endpoint's reply.
  SetConntrack(kClient4, kClientPort + 2, kVip4, kVipPort, kProtoTCP, kIdB);
  struct TcCase {
    std::string description;
    Bytes in, out;
  };
  L4 udp_in{kProtoUDP, kBackendPort, kClientPort, 0, Bytes{'o', 'k'}, false};
  L4 udp_out = udp_in;
  udp_out.sport = kVipPort;
  L4 udp0_in = udp_in, udp0_out = udp_out;
  udp0_in.udp_zero_checksum = udp0_out.udp_zero_checksum = true;
  const Bytes unrelated = L4Frame(kClientMac, kNodeMac, Addr("10.1.0.9"), kClient4, reply_in);
  // The endpoint talking to the same client on another port: not a VIP flow (the client reached
  // it by its own address, or the endpoint called out).
  const Bytes direct = L4Frame(kClientMac, kNodeMac, kBackendA4, kClient4,
                               Tcp(kClientPort + 1, kBackendPort, kTcpSyn | kTcpAck));
  const Bytes other_client =
      L4Frame(kClientMac, kNodeMac, kBackendA4, Addr("192.0.2.11"), reply_in);
  const Bytes other_endpoints = L4Frame(kClientMac, kNodeMac, kBackendA4, kClient4,
                                        Tcp(kClientPort + 2, kBackendPort, kTcpSyn | kTcpAck));
  const std::vector<TcCase> cases = {
      {"TCP reply from the endpoint leaves as the VIP",
       L4Frame(kClientMac, kNodeMac, kBackendA4, kClient4, reply_in),
       L4Frame(kClientMac, kNodeMac, kVip4, kClient4, reply_out)},
      {"UDP reply", L4Frame(kClientMac, kNodeMac, kBackendA4, kClient4, udp_in),
       L4Frame(kClientMac, kNodeMac, kVip4, kClient4, udp_out)},
      {"UDP reply without checksum", L4Frame(kClientMac, kNodeMac, kBackendA4, kClient4, udp0_in),
       L4Frame(kClientMac, kNodeMac, kVip4, kClient4, udp0_out)},
      {"IPv6 TCP reply", L4Frame(kClientMac, kNodeMac, kBackend6, kClient6, reply_in),
       L4Frame(kClientMac, kNodeMac, kVip6, kClient6, reply_out)},
      {"traffic from other addresses is untouched", unrelated, unrelated},
      {"the endpoint's own traffic to another client port is untouched", direct, direct},
      {"the endpoint's traffic to another client is untouched", other_client, other_client},
      {"a flow conntrack gave another endpoint is not this one's", other_endpoints,
       other_endpoints},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.description);
    RunResult r = RunTc(c.in);
    EXPECT_EQ(r.verdict, static_cast<uint32_t>(TC_ACT_OK));
    EXPECT_EQ(r.out, c.out);
    EXPECT_TRUE(ChecksumsValid(r.out));
  }
  EXPECT_EQ(ReasonCount(LB_R_REVNAT), 4u);
}

// Two Services with different VIPs on the same endpoint (an internal and an external VIP for one
// app): each flow's reply leaves with the VIP that flow was sent to. Translating by the endpoint
// alone gave every reply the first VIP, and the second VIP's clients no answer.
TEST_F(NatTest, TwoVipsOnOneEndpointEachReplyGetsItsOwnVip) {
  const IPAddr vip2 = Addr("198.51.100.20");
  constexpr uint32_t kSvc2 = 7;
  SetService(vip2, kVipPort, kProtoTCP, kSvc2, {kIdA}, 3 * kTableSize, kTableSize);
  SetLocalEndpoint(kBackendA4, kBackendPort, kProtoTCP, kIdA,
                   {{kVip4, kVipPort}, {vip2, kVipPort}});
  const L4 to1 = Tcp(kVipPort, 40001), to2 = Tcp(kVipPort, 40002);
  EXPECT_EQ(RunXdp(ToVip(to1)).out, ToBackend(to1));
  EXPECT_EQ(RunXdp(L4Frame(kNodeMac, kClientMac, kClient4, vip2, to2)).out, ToBackend(to2));
  ASSERT_TRUE(GetConntrack(kClient4, 40001, kVip4, kVipPort, kProtoTCP));
  ASSERT_TRUE(GetConntrack(kClient4, 40002, vip2, kVipPort, kProtoTCP));

  const auto reply = [](uint16_t cport, uint16_t sport) {
    return Tcp(cport, sport, kTcpSyn | kTcpAck);
  };
  EXPECT_EQ(
      RunTc(L4Frame(kClientMac, kNodeMac, kBackendA4, kClient4, reply(40001, kBackendPort))).out,
      L4Frame(kClientMac, kNodeMac, kVip4, kClient4, reply(40001, kVipPort)));
  EXPECT_EQ(
      RunTc(L4Frame(kClientMac, kNodeMac, kBackendA4, kClient4, reply(40002, kBackendPort))).out,
      L4Frame(kClientMac, kNodeMac, vip2, kClient4, reply(40002, kVipPort)));
  const Bytes stray =
      L4Frame(kClientMac, kNodeMac, kBackendA4, kClient4, reply(40003, kBackendPort));
  EXPECT_EQ(RunTc(stray).out, stray) << "no VIP flow: never rewritten";
}

// A UDP client sends from a new socket per request and the kernel may hand it a source port it
// used before, for the other VIP of the same endpoint: the reply belongs to the newest flow.
TEST_F(NatTest, ReusedClientPortRepliesAsTheNewestFlowsVip) {
  const IPAddr vip2 = Addr("198.51.100.20");
  constexpr uint32_t kSvc2 = 7;
  SetService(vip2, kVipPort, kProtoUDP, kSvc2, {kIdA}, 3 * kTableSize, kTableSize);
  SetLocalEndpoint(kBackendA4, kBackendPort, kProtoUDP, kIdA,
                   {{kVip4, kVipPort}, {vip2, kVipPort}});
  const L4 q = Udp();
  L4 reply{kProtoUDP, kBackendPort, kClientPort, 0, Bytes{'a'}, false};
  const Bytes from_endpoint = L4Frame(kClientMac, kNodeMac, kBackendA4, kClient4, reply);
  L4 reply_vip = reply;
  reply_vip.sport = kVipPort;
  ASSERT_EQ(RunXdp(ToVip(q)).verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(RunTc(from_endpoint).out, L4Frame(kClientMac, kNodeMac, kVip4, kClient4, reply_vip));
  usleep(20'000);  // conntrack stamps creation with the coarse clock (one jiffy)
  ASSERT_EQ(RunXdp(L4Frame(kNodeMac, kClientMac, kClient4, vip2, q)).verdict,
            static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(RunTc(from_endpoint).out, L4Frame(kClientMac, kNodeMac, vip2, kClient4, reply_vip))
      << "the same client port, now to the second VIP";
}

// The same client port to the first VIP, to the second, then to the first again (a TCP client
// once TIME_WAIT is over): the first VIP's old entry still names this endpoint and is kept, so it
// is the older one by creation; the reply must still leave with the first VIP. It left with the
// second, and the client reset the connection (the fault suite's failed new connections).
TEST_F(NatTest, ClientPortBackToTheFirstVipRepliesAsTheFirstVip) {
  const IPAddr vip2 = Addr("198.51.100.20");
  constexpr uint32_t kSvc2 = 7;
  SetService(vip2, kVipPort, kProtoTCP, kSvc2, {kIdA}, 3 * kTableSize, kTableSize);
  SetLocalEndpoint(kBackendA4, kBackendPort, kProtoTCP, kIdA,
                   {{kVip4, kVipPort}, {vip2, kVipPort}});
  const L4 syn = Tcp(kVipPort, 40005, kTcpSyn);
  const L4 syn_ack = Tcp(40005, kBackendPort, kTcpSyn | kTcpAck);
  L4 syn_ack_vip = syn_ack;
  syn_ack_vip.sport = kVipPort;
  const Bytes from_endpoint = L4Frame(kClientMac, kNodeMac, kBackendA4, kClient4, syn_ack);
  ASSERT_EQ(RunXdp(ToVip(syn)).out, ToBackend(syn));
  usleep(20'000);  // conntrack stamps creation with the coarse clock (one jiffy)
  ASSERT_EQ(RunXdp(L4Frame(kNodeMac, kClientMac, kClient4, vip2, syn)).verdict,
            static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(RunTc(from_endpoint).out, L4Frame(kClientMac, kNodeMac, vip2, kClient4, syn_ack_vip));
  // Past LB_CT_TOUCH_NS: the first VIP's entry is refreshed by the new flow's SYN.
  usleep(1'100'000);
  ASSERT_EQ(RunXdp(ToVip(syn)).out, ToBackend(syn));
  EXPECT_EQ(RunTc(from_endpoint).out, L4Frame(kClientMac, kNodeMac, kVip4, kClient4, syn_ack_vip))
      << "the same client port, back to the first VIP";
}

// A datagram split in two: the first fragment has the ports and is balanced (its UDP checksum,
// which covers the whole datagram, updated for the new address and port); the second has none and
// follows the first's endpoint by the datagram's identification, even after the table moved.
TEST_F(NatTest, FragmentsOfOneDatagramReachOneEndpoint) {
  SetVipAddr(kVip4);
  const L4 udp{kProtoUDP, kClientPort, kVipPort, 0, Bytes(100, 'f'), false};
  L4 udp_out = udp;
  udp_out.dport = kBackendPort;
  const Bytes seg = Segment(kClient4, kVip4, udp), seg_out = Segment(kClient4, kBackendA4, udp_out);
  auto part = [](const Bytes& s, size_t from, size_t to) {
    return Bytes(s.begin() + from, s.begin() + std::min(to, s.size()));
  };
  const IPv4Opts first{64, {}, 0x777, 0x2000}, second{64, {}, 0x777, 56 / 8};
  auto frame = [](const IPAddr& dst, const Bytes& payload, const IPv4Opts& o) {
    return Ether(kNodeMac, kClientMac, kEthIPv4, IPv4(kClient4, dst, kProtoUDP, payload, o));
  };
  RunResult r1 = RunXdp(frame(kVip4, part(seg, 0, 56), first));
  EXPECT_EQ(r1.verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(r1.out, frame(kBackendA4, part(seg_out, 0, 56), first));
  SetService(kVip4, kVipPort, kProtoUDP, kSvcUdp, {kIdB}, kTableSize, kTableSize);
  lb_ct_key ck{};
  FillAddr(ck.src, kClient4);
  FillAddr(ck.dst, kVip4);
  ck.sport = htons(kClientPort);
  ck.dport = htons(kVipPort);
  ck.proto = kProtoUDP;
  ck.family = LB_FAMILY_V4;
  bpf_map_delete_elem(fd(LB_MAP_CONNTRACK), &ck);
  RunResult r2 = RunXdp(frame(kVip4, part(seg, 56, 1000), second));
  EXPECT_EQ(r2.verdict, static_cast<uint32_t>(XDP_PASS));
  EXPECT_EQ(r2.out, frame(kBackendA4, part(seg, 56, 1000), second));
  EXPECT_EQ(PerCpuPackets(LB_MAP_BACKEND_STATS, kIdA), 2u);

  const IPv4Opts orphan{64, {}, 0x778, 56 / 8};
  EXPECT_EQ(RunXdp(frame(kVip4, part(seg, 56, 1000), orphan)).verdict,
            static_cast<uint32_t>(XDP_DROP))
      << "first fragment never seen: nowhere to send it";
  EXPECT_EQ(ReasonCount(LB_R_DROP_FRAGMENT), 1u);
}

// With a route and a neighbour the FIB answers: the frame is redirected with the next hop's MACs
// and the TTL decremented like a router's.
TEST_F(NatTest, FibRedirectRewritesMacsAndTtl) {
  ASSERT_EQ(std::system("ip link add dpt0 type veth peer name dpt1 && ip link set dpt0 up && "
                        "ip link set dpt1 up && ip link set dpt0 address 02:00:00:00:00:0a && ip "
                        "addr add 10.1.0.1/24 dev dpt0 && "
                        "ip neigh replace 10.1.0.5 lladdr 02:00:00:00:00:05 dev dpt0 && "
                        "sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv4.conf.lo.forwarding=1"),
            0);
  const Mac dpt0_mac = {0x02, 0, 0, 0, 0, 0x0a};
  RunResult r = RunXdp(ToVip(Tcp()));
  std::system("ip link del dpt0");
  EXPECT_EQ(r.verdict, static_cast<uint32_t>(XDP_REDIRECT));
  const Mac backend_mac = {0x02, 0, 0, 0, 0, 0x05};
  EXPECT_EQ(r.out, L4Frame(backend_mac, dpt0_mac, kClient4, kBackendA4,
                           {kProtoTCP, kClientPort, kBackendPort, kTcpSyn, Bytes{'h', 'i'}, false},
                           WithTtl(63)));
  EXPECT_EQ(ReasonCount(LB_R_FWD_REDIRECT), 1u);
}

// Two veths in the test's namespace, the endpoints' links: 10.1.0.0/24 on <name>a (MAC ..:0a)
// with 10.1.0.5 at ..:05, and 10.2.0.0/24 on <name>c (MAC ..:0b) with a router 10.2.0.9 at ..:09.
// Forwarding is on, as a node's is. Removed when the test ends, passed or not.
struct NexthopLinks {
  std::string name = "nh" + std::to_string(getpid());
  std::string a = name + "a", c = name + "c";
  NexthopLinks() {
    const std::string cmd =
        "ip link add " + a + " type veth peer name " + name + "b && ip link add " + c +
        " type veth peer name " + name + "d && ip link set " + a +
        " address 02:00:00:00:00:0a && ip link set " + c + " address 02:00:00:00:00:0b && " +
        "ip link set " + a + " up && ip link set " + name + "b up && ip link set " + c +
        " up && ip link set " + name + "d up && ip addr add 10.1.0.1/24 dev " + a +
        " && ip addr add 10.2.0.1/24 dev " + c + " && ip neigh replace 10.1.0.5 lladdr " +
        "02:00:00:00:00:05 dev " + a + " && ip neigh replace 10.2.0.9 lladdr 02:00:00:00:00:09 " +
        "dev " + c + " && sysctl -qw net.ipv4.conf.all.forwarding=1 " +
        "net.ipv4.conf.lo.forwarding=1";
    ok = std::system(cmd.c_str()) == 0;
  }
  ~NexthopLinks() {
    std::system(("ip link del " + a + " 2>/dev/null; ip link del " + c + " 2>/dev/null").c_str());
  }
  int Run(const std::string& cmd) const { return std::system(cmd.c_str()); }
  uint32_t index(const std::string& dev) const { return if_nametoindex(dev.c_str()); }
  bool ok = false;
};

const Mac kVethA = {0x02, 0, 0, 0, 0, 0x0a}, kVethC = {0x02, 0, 0, 0, 0, 0x0b};

Bytes Forwarded(const Mac& dst, const Mac& src, uint8_t flags = kTcpAck) {
  return L4Frame(dst, src, kClient4, kBackendA4,
                 {kProtoTCP, kClientPort, kBackendPort, flags, Bytes{'h', 'i'}, false},
                 WithTtl(63));
}

lb_nexthop Entry(uint32_t ifindex, const Mac& dmac, const Mac& smac, uint16_t mtu = 1500,
                 const IPAddr& addr = kBackendA4) {
  lb_nexthop v{};
  FillAddr(v.addr, addr);
  v.ifindex = ifindex;
  v.mtu = mtu;
  std::memcpy(v.dmac, dmac.data(), 6);
  std::memcpy(v.smac, smac.data(), 6);
  v.family = FamilyOf(addr);
  return v;
}

// xdp_lb takes the table's answer, byte for byte as the FIB's would be built, before the FIB --
// and asks the FIB whenever the answer is not for this endpoint, too short for the frame, or no
// longer vouched for. (The table's MAC ..:99 is no neighbour's, so the output says who answered.)
TEST_F(NatTest, NexthopTableAnswersBeforeTheFib) {
  NexthopLinks links;
  ASSERT_TRUE(links.ok);
  const Mac table_mac = {0x02, 0, 0, 0, 0, 0x99}, neighbour = {0x02, 0, 0, 0, 0, 0x05};
  const Bytes in = ToVip(Tcp(kVipPort, kClientPort, kTcpAck));
  const uint32_t zero = 0;
  const auto vouch = [&](uint64_t until) {
    lb_nexthop_live live{until};
    Put(LB_MAP_NEXTHOP_LIVE, &zero, &live);
  };
  lb_nexthop e = Entry(links.index(links.a), table_mac, kVethA);
  Put(LB_MAP_NEXTHOPS, &kIdA, &e);
  EXPECT_EQ(RunXdp(in).out, Forwarded(neighbour, kVethA)) << "entry not vouched for: the FIB";

  vouch(MonotonicNs() + 60'000'000'000);
  RunResult r = RunXdp(in);
  EXPECT_EQ(r.verdict, static_cast<uint32_t>(XDP_REDIRECT));
  EXPECT_EQ(r.out, Forwarded(table_mac, kVethA)) << "the table's answer";
  EXPECT_EQ(ReasonCount(LB_R_FWD_REDIRECT), 2u);

  e.mtu = 41;  // the frame's IPv4 length is 42
  Put(LB_MAP_NEXTHOPS, &kIdA, &e);
  EXPECT_EQ(RunXdp(in).out, Forwarded(neighbour, kVethA)) << "longer than the MTU: the FIB";
  e.mtu = 42;
  Put(LB_MAP_NEXTHOPS, &kIdA, &e);
  EXPECT_EQ(RunXdp(in).out, Forwarded(table_mac, kVethA)) << "as long as the MTU";

  vouch(1);  // long past (the program's coarse clock lags MonotonicNs() by up to a tick)
  EXPECT_EQ(RunXdp(in).out, Forwarded(neighbour, kVethA)) << "promise expired: the FIB";
  vouch(MonotonicNs() + 60'000'000'000);

  // The agent gave id A to another endpoint and has not answered for it yet.
  ASSERT_EQ(links.Run("ip neigh replace 10.1.0.7 lladdr 02:00:00:00:00:07 dev " + links.a), 0);
  SetBackend(kIdA, Addr("10.1.0.7"), kBackendPort);
  EXPECT_EQ(
      RunXdp(in).out,
      L4Frame({0x02, 0, 0, 0, 0, 0x07}, kVethA, kClient4, Addr("10.1.0.7"),
              {kProtoTCP, kClientPort, kBackendPort, kTcpAck, Bytes{'h', 'i'}, false}, WithTtl(63)))
      << "an answer for another address: the FIB";
  SetBackend(kIdA, kBackendA4, kBackendPort);

  // --nexthop-table off: the table's code is not in the program at all.
  dataplane::LoadOptions off;
  off.nexthop_table = false;
  Load(off);
  Populate();
  Put(LB_MAP_NEXTHOPS, &kIdA, &e);
  vouch(MonotonicNs() + 60'000'000'000);
  EXPECT_EQ(RunXdp(in).out, Forwarded(neighbour, kVethA)) << "table off: the FIB";
}

// A previous agent's answers are stale for this one (ids may name other endpoints now): the new
// table withdraws the vouch at once and clears every slot before it writes its own answers.
TEST_F(NatTest, NexthopTableClearsAPreviousAgentsAnswersAtStart) {
  NexthopLinks links;
  ASSERT_TRUE(links.ok);
  bpf_map_info info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(fd(LB_MAP_NEXTHOPS), &info, &len), 0);
  const uint32_t zero = 0, other = kIdA + 5, last = info.max_entries - 1;
  const lb_nexthop_live vouched{MonotonicNs() + 60'000'000'000};
  Put(LB_MAP_NEXTHOP_LIVE, &zero, &vouched);
  const lb_nexthop stale = Entry(links.index(links.c), {0x02, 0, 0, 0, 0, 0x99}, kVethC);
  for (uint32_t id : {kIdA, other, last}) Put(LB_MAP_NEXTHOPS, &id, &stale);
  auto table = std::make_unique<dataplane::NextHopTable>(
      fd(LB_MAP_NEXTHOPS), fd(LB_MAP_NEXTHOP_LIVE), std::vector<uint32_t>{kLoopbackIfindex});
  lb_nexthop_live live{};
  ASSERT_EQ(bpf_map_lookup_elem(fd(LB_MAP_NEXTHOP_LIVE), &zero, &live), 0);
  EXPECT_EQ(live.until_ns, 0u) << "the old vouch is withdrawn before the constructor returns";
  table->SetEndpoints({{kIdA, kBackendA4}});
  table->Sync();
  const auto entry = [&](uint32_t id) {
    lb_nexthop v{};
    EXPECT_EQ(bpf_map_lookup_elem(fd(LB_MAP_NEXTHOPS), &id, &v), 0);
    return v;
  };
  EXPECT_EQ(entry(kIdA).ifindex, links.index(links.a)) << "this agent's own answer";
  EXPECT_EQ(entry(other).ifindex, 0u) << "a stale slot no endpoint uses now";
  EXPECT_EQ(entry(last).ifindex, 0u) << "the table's last slot";
}

// The agent's side: NextHopTable answers from the kernel's routes and neighbours and follows
// their changes through rtnetlink -- a neighbour's new MAC, a neighbour gone, a more specific
// route through a router on another link, a multipath route, a policy rule -- and frames follow.
TEST_F(NatTest, NexthopTableFollowsNeighbourAndRouteChanges) {
  NexthopLinks links;
  ASSERT_TRUE(links.ok);
  const uint32_t a = links.index(links.a), c = links.index(links.c);
  const Bytes in = ToVip(Tcp(kVipPort, kClientPort, kTcpAck));
  const auto entry = [&] {
    lb_nexthop v{};
    EXPECT_EQ(bpf_map_lookup_elem(fd(LB_MAP_NEXTHOPS), &kIdA, &v), 0);
    return v;
  };
  const auto same = [](const lb_nexthop& x, const lb_nexthop& y) {
    return std::memcmp(&x, &y, sizeof(x)) == 0;
  };
  auto table = std::make_unique<dataplane::NextHopTable>(
      fd(LB_MAP_NEXTHOPS), fd(LB_MAP_NEXTHOP_LIVE), std::vector<uint32_t>{kLoopbackIfindex});
  table->SetEndpoints({{kIdA, kBackendA4}});
  table->Sync();
  EXPECT_TRUE(same(entry(), Entry(a, {0x02, 0, 0, 0, 0, 0x05}, kVethA)));
  EXPECT_EQ(table->Stats().answered, 1u);
  RunResult r = RunXdp(in);
  EXPECT_EQ(r.verdict, static_cast<uint32_t>(XDP_REDIRECT));
  EXPECT_EQ(r.out, Forwarded({0x02, 0, 0, 0, 0, 0x05}, kVethA));

  ASSERT_EQ(links.Run("ip neigh replace 10.1.0.5 lladdr 02:00:00:00:00:06 dev " + links.a), 0);
  table->Sync();
  EXPECT_TRUE(same(entry(), Entry(a, {0x02, 0, 0, 0, 0, 0x06}, kVethA))) << "new neighbour MAC";
  EXPECT_EQ(RunXdp(in).out, Forwarded({0x02, 0, 0, 0, 0, 0x06}, kVethA));

  ASSERT_EQ(links.Run("ip neigh del 10.1.0.5 dev " + links.a), 0);
  table->Sync();
  EXPECT_EQ(entry().ifindex, 0u) << "neighbour gone: no answer";
  EXPECT_EQ(RunXdp(in).verdict, static_cast<uint32_t>(XDP_PASS)) << "the FIB has none either";
  ASSERT_EQ(links.Run("ip neigh replace 10.1.0.5 lladdr 02:00:00:00:00:05 dev " + links.a), 0);
  table->Sync();
  EXPECT_TRUE(same(entry(), Entry(a, {0x02, 0, 0, 0, 0, 0x05}, kVethA))) << "neighbour back";

  ASSERT_EQ(links.Run("ip route add 10.1.0.5/32 via 10.2.0.9 dev " + links.c), 0);
  table->Sync();
  EXPECT_TRUE(same(entry(), Entry(c, {0x02, 0, 0, 0, 0, 0x09}, kVethC))) << "route via a router";
  EXPECT_EQ(RunXdp(in).out, Forwarded({0x02, 0, 0, 0, 0, 0x09}, kVethC));
  ASSERT_EQ(links.Run("ip neigh replace 10.2.0.9 lladdr 02:00:00:00:00:08 dev " + links.c), 0);
  table->Sync();
  EXPECT_EQ(RunXdp(in).out, Forwarded({0x02, 0, 0, 0, 0, 0x08}, kVethC)) << "the router's MAC";

  ASSERT_EQ(links.Run("ip route replace 10.1.0.5/32 nexthop via 10.2.0.9 dev " + links.c +
                      " nexthop via 10.1.0.7 dev " + links.a),
            0);
  table->Sync();
  EXPECT_EQ(entry().ifindex, 0u) << "multipath: chosen per flow, so asked per packet";
  ASSERT_EQ(links.Run("ip route del 10.1.0.5/32"), 0);
  table->Sync();
  EXPECT_TRUE(same(entry(), Entry(a, {0x02, 0, 0, 0, 0, 0x05}, kVethA))) << "on-link again";

  ASSERT_EQ(links.Run("ip rule add from 192.0.2.0/24 lookup 100 pref 100"), 0);
  table->Sync();
  EXPECT_EQ(entry().ifindex, 0u) << "policy routing may choose by the client";
  ASSERT_EQ(links.Run("ip rule del pref 100"), 0);
  table->Sync();
  EXPECT_EQ(entry().ifindex, a);

  ASSERT_EQ(links.Run("ip link set " + links.a + " down"), 0);
  table->Sync();
  EXPECT_EQ(entry().ifindex, 0u) << "interface down";
  ASSERT_EQ(links.Run("ip link set " + links.a +
                      " up && ip neigh replace 10.1.0.5 lladdr "
                      "02:00:00:00:00:05 dev " +
                      links.a),
            0);
  table->Sync();
  EXPECT_EQ(entry().ifindex, a);

  table->SetEndpoints({});
  table->Sync();
  EXPECT_EQ(entry().ifindex, 0u) << "no longer an endpoint";
  table->SetEndpoints({{kIdA, kBackendA4}});
  table->Sync();
  EXPECT_EQ(entry().ifindex, a);

  // A stopped agent withdraws its promise: the FIB again, whatever the table still holds.
  table.reset();
  lb_nexthop_live live{};
  const uint32_t zero = 0;
  ASSERT_EQ(bpf_map_lookup_elem(fd(LB_MAP_NEXTHOP_LIVE), &zero, &live), 0);
  EXPECT_EQ(live.until_ns, 0u);
  ASSERT_EQ(links.Run("ip neigh replace 10.1.0.5 lladdr 02:00:00:00:00:06 dev " + links.a), 0);
  EXPECT_EQ(RunXdp(in).out, Forwarded({0x02, 0, 0, 0, 0, 0x06}, kVethA));
}

}  // namespace
}  // namespace ironlb::testpkt
