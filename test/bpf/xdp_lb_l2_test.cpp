// xdp_lb's ARP and NDP answers: exact reply bytes for owned VIPs, silence for VIPs another node
// owns or while the agent's liveness stamp is stale, and the kernel's own ARP/NDP left untouched.
#include <time.h>

#include "lb_fixture.h"

namespace ironlb::testpkt {
namespace {

const IPAddr kClient4 = Addr("192.0.2.10");
const IPAddr kVip4 = Addr("198.51.100.10");
const IPAddr kOtherVip4 = Addr("198.51.100.11");
const IPAddr kClient6 = Addr("2001:db8::10");
const IPAddr kVip6 = Addr("2001:db8:100::10");
const IPAddr kOtherVip6 = Addr("2001:db8:100::11");
const IPAddr kSolicitedNode6 = Addr("ff02::1:ff00:10");
const IPAddr kAllNodes6 = Addr("ff02::1");
const IPAddr kUnspecified6 = Addr("::");
const Mac kSolicitedMac = {0x33, 0x33, 0xff, 0x00, 0x00, 0x10};
const Mac kAllNodesMac = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};
constexpr uint16_t kArpRequest = 1, kArpReply = 2;
constexpr uint8_t kNS = 135, kNA = 136;
constexpr uint8_t kNaSolicitedOverride = 0x60, kNaOverride = 0x20;
constexpr uint8_t kNdHopLimit = 255;

class L2Test : public LbTest {
 protected:
  void SetUp() override {
    LbTest::SetUp();
    SetIface(kLoopbackIfindex, kNodeMac);
    SetL2(kVip4, kLoopbackIfindex, LB_L2_OWNED);
    SetL2(kOtherVip4, 0, LB_L2_SILENT);
    SetL2(kVip6, kLoopbackIfindex, LB_L2_OWNED);
    SetL2(kOtherVip6, 0, LB_L2_SILENT);
  }
};

Bytes ArpRequest(const IPAddr& target, std::optional<uint16_t> vlan = std::nullopt) {
  return Ether(kBroadcast, kClientMac, kEthARP,
               Arp(kArpRequest, kClientMac, kClient4, kZeroMac, target), vlan);
}

Bytes NeighborSolicit(const IPAddr& target, std::optional<Mac> sllao = kClientMac,
                      const IPAddr& src = kClient6, uint8_t hop = kNdHopLimit) {
  return Ether(kSolicitedMac, kClientMac, kEthIPv6,
               IPv6(src, kSolicitedNode6, kProtoICMPv6,
                    NdMessage(kNS, 0, src, kSolicitedNode6, target, sllao), hop));
}

Bytes NeighborAdvert(const Mac& to_mac, const IPAddr& to, uint8_t flags) {
  return Ether(to_mac, kNodeMac, kEthIPv6,
               IPv6(kVip6, to, kProtoICMPv6, NdMessage(kNA, flags, kVip6, to, kVip6, kNodeMac),
                    kNdHopLimit));
}

TEST_F(L2Test, ArpCases) {
  const Bytes reply =
      Ether(kClientMac, kNodeMac, kEthARP, Arp(kArpReply, kNodeMac, kVip4, kClientMac, kClient4));
  Bytes truncated = ArpRequest(kVip4);
  truncated.resize(14 + 20);
  const std::vector<Case> cases = {
      {"request for an owned VIP is answered in place", ArpRequest(kVip4), XDP_TX, reply},
      {"tagged request is answered on the same VLAN", ArpRequest(kVip4, 42), XDP_TX,
       Ether(kClientMac, kNodeMac, kEthARP, Arp(kArpReply, kNodeMac, kVip4, kClientMac, kClient4),
             42)},
      {"request for another node's VIP is dropped", ArpRequest(kOtherVip4), XDP_DROP, {}},
      {"request for an unknown address is the kernel's", ArpRequest(Addr("192.0.2.1")), XDP_PASS,
       ArpRequest(Addr("192.0.2.1"))},
      {"a reply passes untouched",
       Ether(kNodeMac, kClientMac, kEthARP, Arp(kArpReply, kClientMac, kClient4, kNodeMac, kVip4)),
       XDP_PASS,
       Ether(kNodeMac, kClientMac, kEthARP, Arp(kArpReply, kClientMac, kClient4, kNodeMac, kVip4))},
      {"gratuitous ARP for the VIP passes",
       Ether(kBroadcast, kClientMac, kEthARP, Arp(kArpRequest, kClientMac, kVip4, kZeroMac, kVip4)),
       XDP_PASS,
       Ether(kBroadcast, kClientMac, kEthARP,
             Arp(kArpRequest, kClientMac, kVip4, kZeroMac, kVip4))},
      {"truncated ARP is dropped", truncated, XDP_DROP, {}},
  };
  for (const auto& c : cases) Check(c);
  EXPECT_EQ(ReasonCount(LB_R_TX_ARP_REPLY), 2u);
  EXPECT_EQ(ReasonCount(LB_R_DROP_ARP_NOT_OWNER), 1u);
}

// Owned on one interface, silent on the others: the per-interface entry wins on the owner.
TEST_F(L2Test, PerInterfaceEntryWinsOverWildcard) {
  SetL2(kVip4, 0, LB_L2_SILENT);
  Check({"owner interface answers", ArpRequest(kVip4), XDP_TX, {}});
  lb_l2_key k{};
  FillAddr(k.addr, kVip4);
  k.ifindex = kLoopbackIfindex;
  k.family = LB_FAMILY_V4;
  ASSERT_EQ(bpf_map_delete_elem(fd(LB_MAP_L2), &k), 0);
  Check({"elsewhere the wildcard silences it", ArpRequest(kVip4), XDP_DROP, {}});
}

TEST_F(L2Test, NdpCases) {
  const Bytes na = NeighborAdvert(kClientMac, kClient6, kNaSolicitedOverride);
  const std::vector<Case> cases = {
      {"NS with source link-layer option for an owned VIP gets the NA", NeighborSolicit(kVip6),
       XDP_TX, na},
      {"NS without options: the frame grows to hold the NA", NeighborSolicit(kVip6, std::nullopt),
       XDP_TX, na},
      {"DAD probe for an owned VIP is defended to all-nodes",
       NeighborSolicit(kVip6, std::nullopt, kUnspecified6), XDP_TX,
       NeighborAdvert(kAllNodesMac, kAllNodes6, kNaOverride)},
      {"NS for another node's VIP is dropped", NeighborSolicit(kOtherVip6), XDP_DROP, {}},
      {"NS for an unknown address is the kernel's", NeighborSolicit(Addr("2001:db8::1")), XDP_PASS,
       NeighborSolicit(Addr("2001:db8::1"))},
      {"NS with hop limit below 255 is invalid (RFC 4861) and left to the kernel",
       NeighborSolicit(kVip6, kClientMac, kClient6, 64), XDP_PASS,
       NeighborSolicit(kVip6, kClientMac, kClient6, 64)},
  };
  for (const auto& c : cases) Check(c);
  EXPECT_EQ(ReasonCount(LB_R_TX_NDP_ADVERT), 3u);
  EXPECT_EQ(ReasonCount(LB_R_DROP_NS_NOT_OWNER), 1u);
}

TEST_F(L2Test, NeighborAdvertChecksumVerifies) {
  RunResult r = RunXdp(NeighborSolicit(kVip6));
  ASSERT_EQ(r.verdict, static_cast<uint32_t>(XDP_TX));
  ASSERT_EQ(r.out.size(), 14u + 40 + 32);
  Bytes icmp(r.out.begin() + 54, r.out.end());
  EXPECT_EQ(Fold(Sum16(icmp, PseudoSum(kVip6, kClient6, kProtoICMPv6, icmp.size()))), 0);
}

uint64_t MonotonicNow() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

constexpr uint64_t kFenceNs = 200000000;  // the default fence: 2 x 100 ms

// Fencing: the same owned VIPs answer while the agent's liveness stamp is fresh and go quiet,
// with their own drop reason, once it is older than the fence.
TEST_F(L2Test, StaleLivenessStampFencesOwnedVips) {
  const Bytes reply =
      Ether(kClientMac, kNodeMac, kEthARP, Arp(kArpReply, kNodeMac, kVip4, kClientMac, kClient4));
  const Bytes na = NeighborAdvert(kClientMac, kClient6, kNaSolicitedOverride);
  const uint32_t zero = 0;
  lb_l2_live fresh{MonotonicNow(), kFenceNs};
  Put(LB_MAP_L2_LIVE, &zero, &fresh);
  Check({"fresh stamp: ARP answered", ArpRequest(kVip4), XDP_TX, reply});
  Check({"fresh stamp: NS answered", NeighborSolicit(kVip6), XDP_TX, na});

  lb_l2_live stale{MonotonicNow() - kFenceNs - 1000000, kFenceNs};
  Put(LB_MAP_L2_LIVE, &zero, &stale);
  Check({"stale stamp: ARP for an owned VIP is dropped", ArpRequest(kVip4), XDP_DROP, {}});
  Check({"stale stamp: NS for an owned VIP is dropped", NeighborSolicit(kVip6), XDP_DROP, {}});
  Check({"stale stamp: another node's VIP stays silent", ArpRequest(kOtherVip4), XDP_DROP, {}});
  Check({"stale stamp: the kernel's own ARP is untouched", ArpRequest(Addr("192.0.2.1")), XDP_PASS,
         ArpRequest(Addr("192.0.2.1"))});
  EXPECT_EQ(ReasonCount(LB_R_DROP_L2_FENCED), 2u);
  EXPECT_EQ(ReasonCount(LB_R_DROP_ARP_NOT_OWNER), 1u);

  lb_l2_live future{MonotonicNow() + 60000000000ull, kFenceNs};
  Put(LB_MAP_L2_LIVE, &zero, &future);
  Check({"a stamp from the future fences too", ArpRequest(kVip4), XDP_DROP, {}});

  lb_l2_live refreshed{MonotonicNow(), kFenceNs};
  Put(LB_MAP_L2_LIVE, &zero, &refreshed);
  Check({"refreshed: answered again", ArpRequest(kVip4), XDP_TX, reply});
}

// MetalLB's metallb_layer2_requests_received / _responses_sent, per owned VIP.
TEST_F(L2Test, RequestsAndAnswersCountedPerOwnedVip) {
  auto counts = [&](const IPAddr& vip) {
    lb_l2_key k{};
    FillAddr(k.addr, vip);
    k.family = FamilyOf(vip);
    std::vector<lb_l2_counter> v(libbpf_num_possible_cpus());
    lb_l2_counter sum{};
    if (bpf_map_lookup_elem(fd(LB_MAP_L2_STATS), &k, v.data()) == 0)
      for (const auto& c : v) {
        sum.requests += c.requests;
        sum.responses += c.responses;
      }
    return std::pair<uint64_t, uint64_t>{sum.requests, sum.responses};
  };
  Check({"answered", ArpRequest(kVip4), XDP_TX, {}});
  Check({"answered again", ArpRequest(kVip4), XDP_TX, {}});
  Check({"another node's VIP", ArpRequest(kOtherVip4), XDP_DROP, {}});
  Check({"NS answered", NeighborSolicit(kVip6), XDP_TX, {}});
  const uint32_t zero = 0;
  lb_l2_live stale{MonotonicNow() - kFenceNs - 1000000, kFenceNs};
  Put(LB_MAP_L2_LIVE, &zero, &stale);
  Check({"fenced: received, not answered", ArpRequest(kVip4), XDP_DROP, {}});
  EXPECT_EQ(counts(kVip4), (std::pair<uint64_t, uint64_t>{3, 2}));
  EXPECT_EQ(counts(kVip6), (std::pair<uint64_t, uint64_t>{1, 1}));
  EXPECT_EQ(counts(kOtherVip4), (std::pair<uint64_t, uint64_t>{0, 0})) << "not ours: not counted";
}

TEST_F(L2Test, NoFenceWithoutAnL2Speaker) {
  const uint32_t zero = 0;
  lb_l2_live off{1, 0};  // max_age 0: no speaker fences this node, however old the stamp
  Put(LB_MAP_L2_LIVE, &zero, &off);
  Check({"unfenced", ArpRequest(kVip4), XDP_TX, {}});
}

TEST_F(L2Test, WithoutInterfaceMacNothingIsAnswered) {
  ASSERT_EQ(bpf_map_delete_elem(fd(LB_MAP_IFACES), &kLoopbackIfindex), 0);
  Check({"no MAC to answer with", ArpRequest(kVip4), XDP_PASS, ArpRequest(kVip4)});
}

}  // namespace
}  // namespace ironlb::testpkt
