// tc_lb's TCP MSS clamping (bpf/mss.h): the SYN-ACK of a VIP flow leaves with the VIP as source and
// an MSS no larger than what fits the GUE tunnel (MTU - 40 - 20 - 20 for IPv4, MTU - 72 - 40 - 20
// for IPv6), checksum updated; exact frames built independently. Without clamping, for an MSS
// already small enough, for other segments and for replies of no VIP flow, nothing but the usual
// translation happens. "auto" reads the MTU of the interface the reply leaves by.
#include <unistd.h>

#include <cstdlib>

#include "lb_fixture.h"

namespace ironlb::testpkt {
namespace {

const IPAddr kClient4 = Addr("192.0.2.10"), kVip4 = Addr("198.51.100.10");
const IPAddr kEndpoint4 = Addr("10.2.0.5");
const IPAddr kClient6 = Addr("2001:db8::10"), kVip6 = Addr("2001:db8:100::10");
const IPAddr kEndpoint6 = Addr("fd00:2::5");
constexpr uint16_t kVipPort = 80, kEndpointPort = 8080, kClientPort = 40000;
constexpr uint32_t kId4 = 1, kId6 = 2;
constexpr uint32_t kFabricMtu = 1500;
constexpr uint16_t kClamped4 = kFabricMtu - 40 - 20 - 20;  // 1420
constexpr uint16_t kClamped6 = kFabricMtu - 72 - 40 - 20;  // 1368

// A segment from the endpoint (or, translated, from the VIP) to the client with these options.
Bytes Reply(const IPAddr& from, uint16_t sport, const IPAddr& to, uint8_t flags,
            const Bytes& options) {
  const L4 l4{kProtoTCP, sport, kClientPort, flags, {}, false};
  const Bytes seg = Segment(from, to, l4, options);
  if (from.is_v4()) return Ether(kClientMac, kNodeMac, kEthIPv4, IPv4(from, to, kProtoTCP, seg));
  return Ether(kClientMac, kNodeMac, kEthIPv6, IPv6(from, to, kProtoTCP, seg));
}

class MssTest : public LbTest {
 protected:
  void SetUp() override { LoadWith(kFabricMtu); }

  void LoadWith(uint32_t mss_clamp_mtu) {
    dataplane::LoadOptions o;
    o.mss_clamp_mtu = mss_clamp_mtu;
    Load(o);
    SetLocalEndpoint(kEndpoint4, kEndpointPort, kProtoTCP, kId4, {{kVip4, kVipPort}});
    SetLocalEndpoint(kEndpoint6, kEndpointPort, kProtoTCP, kId6, {{kVip6, kVipPort}});
    SetConntrack(kClient4, kClientPort, kVip4, kVipPort, kProtoTCP, kId4);
    SetConntrack(kClient6, kClientPort, kVip6, kVipPort, kProtoTCP, kId6);
  }

  // tc_lb with the skb on interface `ifindex` (its MTU is what "auto" reads).
  RunResult RunTcOn(const Bytes& in, uint32_t ifindex) {
    RunResult r;
    r.out.resize(in.size() + 256);
    __sk_buff ctx{};
    ctx.ifindex = ifindex;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = r.out.data(),
                .data_size_in = static_cast<uint32_t>(in.size()),
                .data_size_out = static_cast<uint32_t>(r.out.size()), .ctx_in = &ctx,
                .ctx_size_in = sizeof(ctx));
    EXPECT_EQ(bpf_prog_test_run_opts(objs_->tc_prog_fd(), &opts), 0) << errno;
    r.verdict = opts.retval;
    r.out.resize(opts.data_size_out);
    return r;
  }
};

constexpr uint8_t kSynAck = kTcpSyn | kTcpAck;

TEST_F(MssTest, VipSynAckIsClampedToWhatFitsTheTunnel) {
  EXPECT_EQ(
      RunTc(Reply(kEndpoint4, kEndpointPort, kClient4, kSynAck, LinuxSynAckOptions(1460))).out,
      Reply(kVip4, kVipPort, kClient4, kSynAck, LinuxSynAckOptions(kClamped4)));
  EXPECT_EQ(
      RunTc(Reply(kEndpoint6, kEndpointPort, kClient6, kSynAck, LinuxSynAckOptions(1440))).out,
      Reply(kVip6, kVipPort, kClient6, kSynAck, LinuxSynAckOptions(kClamped6)));
  EXPECT_EQ(ReasonCount(LB_R_TCP_MSS_CLAMPED), 2u);
  EXPECT_EQ(ReasonCount(LB_R_REVNAT), 2u);

  // The MSS option anywhere among the options, after NOPs and others.
  Bytes late = {1, 1, 4, 2};  // NOP NOP SACK-permitted
  Append(late, TcpOptMss(9000));
  Bytes late_out = {1, 1, 4, 2};
  Append(late_out, TcpOptMss(kClamped4));
  EXPECT_EQ(RunTc(Reply(kEndpoint4, kEndpointPort, kClient4, kSynAck, late)).out,
            Reply(kVip4, kVipPort, kClient4, kSynAck, late_out));
  EXPECT_EQ(ReasonCount(LB_R_TCP_MSS_CLAMPED), 3u);
}

TEST_F(MssTest, EverythingElseIsOnlyTranslated) {
  const Bytes small = LinuxSynAckOptions(1200);
  const Bytes big = LinuxSynAckOptions(1460);
  const Bytes from_endpoint_direct =
      Reply(kEndpoint4, kEndpointPort, Addr("192.0.2.99"), kSynAck, big);
  struct TcCase {
    const char* description;
    Bytes in, out;
  };
  const std::vector<TcCase> cases = {
      {"an MSS that fits already", Reply(kEndpoint4, kEndpointPort, kClient4, kSynAck, small),
       Reply(kVip4, kVipPort, kClient4, kSynAck, small)},
      {"the same bytes in a segment that is no SYN-ACK",
       Reply(kEndpoint4, kEndpointPort, kClient4, kTcpAck, big),
       Reply(kVip4, kVipPort, kClient4, kTcpAck, big)},
      {"a SYN-ACK without options", Reply(kEndpoint6, kEndpointPort, kClient6, kSynAck, {}),
       Reply(kVip6, kVipPort, kClient6, kSynAck, {})},
      {"a SYN-ACK of no VIP flow (the endpoint reached by its own address)", from_endpoint_direct,
       from_endpoint_direct},
      {"options that end (EOL) before any MSS",
       Reply(kEndpoint4, kEndpointPort, kClient4, kSynAck, Bytes{0, 2, 4, 0x23}),
       Reply(kVip4, kVipPort, kClient4, kSynAck, Bytes{0, 2, 4, 0x23})},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.description);
    RunResult r = RunTc(c.in);
    EXPECT_EQ(r.verdict, static_cast<uint32_t>(TC_ACT_OK));
    EXPECT_EQ(r.out, c.out);
  }
  EXPECT_EQ(ReasonCount(LB_R_TCP_MSS_CLAMPED), 0u);
}

TEST_F(MssTest, OffLeavesTheMssAlone) {
  LoadWith(LB_MSS_CLAMP_OFF);
  const Bytes opts = LinuxSynAckOptions(1460);
  EXPECT_EQ(RunTc(Reply(kEndpoint4, kEndpointPort, kClient4, kSynAck, opts)).out,
            Reply(kVip4, kVipPort, kClient4, kSynAck, opts));
  EXPECT_EQ(ReasonCount(LB_R_TCP_MSS_CLAMPED), 0u);
}

// "auto": the MTU of the interface the SYN-ACK leaves by, read per packet (an MTU change applies
// at once). A veth of MTU 1500 and one of 9000 here.
TEST_F(MssTest, AutoFollowsTheUplinksMtu) {
  LoadWith(LB_MSS_CLAMP_AUTO);
  const std::string veth = "mss" + std::to_string(getpid());
  ASSERT_EQ(
      std::system(("ip link add " + veth + "a mtu 1500 type veth peer name " + veth + "b mtu 9000")
                      .c_str()),
      0);
  const uint32_t narrow = if_nametoindex((veth + "a").c_str());
  const uint32_t jumbo = if_nametoindex((veth + "b").c_str());
  const Bytes opts = LinuxSynAckOptions(1460);
  const Bytes in = Reply(kEndpoint4, kEndpointPort, kClient4, kSynAck, opts);
  EXPECT_EQ(RunTcOn(in, narrow).out,
            Reply(kVip4, kVipPort, kClient4, kSynAck, LinuxSynAckOptions(kClamped4)));
  EXPECT_EQ(RunTcOn(in, jumbo).out, Reply(kVip4, kVipPort, kClient4, kSynAck, opts))
      << "9000 - 80 leaves room for any MSS the endpoint announces here";
  std::system(("ip link del " + veth + "a").c_str());
}

}  // namespace
}  // namespace ironlb::testpkt
