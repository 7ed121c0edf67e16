// Dataplane::Open on real interfaces (a veth pair in the test's private netns, maps pinned on a
// private bpffs): attach, fill, then a second Open -- a restarted agent -- adopts the running
// programs and the pinned maps and has nothing to rewrite.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "dataplane/dataplane.h"
#include "dataplane/map_layout.h"
#include "runtime/monotonic.h"

namespace ironlb::dataplane {
namespace {

class DataplaneAttach : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/ironlb-dp-test-" + std::to_string(getpid());
    std::filesystem::create_directories(dir_);
    ASSERT_EQ(mount("bpf", dir_.c_str(), "bpf", 0, nullptr), 0);
    ASSERT_EQ(std::system("ip link add dpa0 type veth peer name dpa1 && ip link set dpa0 up && "
                          "ip link set dpa1 up"),
              0);
    opts_.bpffs = dir_ + "/ironlb";
    opts_.interfaces = {"dpa0"};
  }
  void TearDown() override {
    Dataplane::Remove(opts_);
    std::system("ip link del dpa0 2>/dev/null");
    umount2(dir_.c_str(), MNT_DETACH);
    std::filesystem::remove_all(dir_);
  }

  DesiredDataplane Desired() {
    DesiredService s;
    s.name = "default/web";
    s.vip = *IPAddr::Parse("198.51.100.10");
    s.port = 80;
    s.backends = {{*IPAddr::Parse("10.1.0.5"), 8080, false, 1, std::nullopt}};
    DesiredDataplane d;
    d.services = {s};
    return d;
  }

  std::string dir_;
  DataplaneOptions opts_;
};

// An upgrade that adds drop reasons (or new --max-* sizes) finds pinned maps of another layout:
// they are replaced, instead of the agent failing to load until someone deletes the pins.
TEST_F(DataplaneAttach, PinnedMapOfAnOlderLayoutIsReplaced) {
  std::filesystem::create_directories(opts_.bpffs);
  const std::string path = opts_.bpffs + "/" LB_MAP_REASON_STATS;
  const int old = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, LB_MAP_REASON_STATS, sizeof(__u32),
                                 sizeof(lb_counter), LB_R_MAX - 3, nullptr);
  ASSERT_GE(old, 0);
  ASSERT_EQ(bpf_obj_pin(old, path.c_str()), 0);
  close(old);
  {
    auto dp = Dataplane::Open(opts_);
    dp->Apply(Desired());
  }
  const int now = bpf_obj_get(path.c_str());
  ASSERT_GE(now, 0);
  bpf_map_info info{};
  __u32 len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(now, &info, &len), 0);
  close(now);
  EXPECT_EQ(info.max_entries, static_cast<__u32>(LB_R_MAX));
}

TEST_F(DataplaneAttach, AttachesThenARestartAdoptsEverything) {
  {
    auto dp = Dataplane::Open(opts_);
    dp->Apply(Desired());
    auto st = dp->Status();
    ASSERT_EQ(st["interfaces"].size(), 1u);
    // "plain" where the kernel refuses freplace programs (libxdp's compatibility check fails
    // with EPERM in some sandboxes); "dispatcher" everywhere else.
    EXPECT_TRUE(st["interfaces"][0]["xdp"] == "dispatcher" || st["interfaces"][0]["xdp"] == "plain")
        << st.dump();
    EXPECT_EQ(st["interfaces"][0]["tc"], "attached");
    // Reverse NAT on egress; on ingress, what XDP hands up while a next hop resolves.
    EXPECT_EQ(std::system("tc filter show dev dpa0 egress | grep -q tc_lb_egress"), 0);
    EXPECT_EQ(std::system("tc filter show dev dpa0 ingress | grep -q tc_lb_ingress"), 0);
    EXPECT_EQ(st["services"], 1);
    EXPECT_EQ(st["last_apply"]["tables_written"], 1);
  }
  EXPECT_TRUE(XdpAttached(if_nametoindex("dpa0"))) << "attachment outlives the process state";
  EXPECT_TRUE(std::filesystem::exists(opts_.bpffs + "/lb_services"));

  auto again = Dataplane::Open(opts_);
  auto st = again->Status();
  EXPECT_EQ(st["interfaces"][0]["xdp"], "kept");
  EXPECT_EQ(st["interfaces"][0]["tc"], "kept");
  EXPECT_EQ(st["services"], 1) << "state read back from the pinned maps";
  again->Apply(Desired());
  st = again->Status();
  EXPECT_EQ(st["last_apply"]["tables_written"], 0);
  EXPECT_EQ(st["last_apply"]["services_written"], 0);
  EXPECT_EQ(st["last_apply"]["backends_written"], 0);
}

std::string Shell(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// ironlbctl reads the pins directly: everything below runs after the Dataplane object is gone.
TEST_F(DataplaneAttach, IronlbctlReadsThePinnedMapsWithoutTheAgent) {
  Dataplane::Open(opts_)->Apply(Desired());
  const std::string ctl = std::string(IRONLB_BINARY_DIR) + "/bin/ironlbctl --bpffs " + opts_.bpffs;
  ASSERT_TRUE(std::filesystem::exists(std::string(IRONLB_BINARY_DIR) + "/bin/ironlbctl"));

  auto vips = nlohmann::json::parse(Shell(ctl + " -j vip list"));
  ASSERT_EQ(vips.size(), 1u);
  EXPECT_EQ(vips[0]["service"], "198.51.100.10:80/TCP");
  EXPECT_EQ(vips[0]["maglev_size"], maglev::TableSizeFor(1));

  auto backends = nlohmann::json::parse(Shell(ctl + " -j backend list"));
  ASSERT_EQ(backends.size(), 1u);
  EXPECT_EQ(backends[0]["backend"], "10.1.0.5:8080");

  auto table = nlohmann::json::parse(Shell(ctl + " -j maglev show 198.51.100.10:80/TCP"));
  ASSERT_EQ(table["backends"].size(), 1u);
  EXPECT_EQ(table["backends"][0]["entries"], maglev::TableSizeFor(1));

  EXPECT_EQ(nlohmann::json::parse(Shell(ctl + " -j conntrack list")).size(), 0u);
  auto stats = nlohmann::json::parse(Shell(ctl + " -j stats"));
  EXPECT_TRUE(stats["reasons"].contains("drop_no_backend"));
  EXPECT_NE(Shell(ctl + " vip list").find("198.51.100.10:80/TCP"), std::string::npos);
  EXPECT_NE(Shell(ctl + " maglev show 198.51.100.99:80/TCP 2>&1").find("no service"),
            std::string::npos);
}

lb_iface IfaceEntry(int map_fd, uint32_t ifindex) {
  lb_iface v{};
  EXPECT_EQ(bpf_map_lookup_elem(map_fd, &ifindex, &v), 0) << "no lb_ifaces entry for " << ifindex;
  return v;
}

// Someone deletes ironlb's tc filters (by hand, a tool that resets qdiscs): the guard's next pass
// attaches them again, counts it, and keeps vouching for tc_lb_ingress to xdp_lb; the table
// `ironlbctl iface list` prints says so, read from the pins and the kernel alone.
TEST_F(DataplaneAttach, TcGuardAttachesARemovedFilterAgainAndVouchesForIt) {
  auto dp = Dataplane::Open(opts_);
  auto guard = dp->MakeTcGuard();
  ASSERT_TRUE(guard);
  const uint32_t idx = if_nametoindex("dpa0");
  const int ifaces = bpf_obj_get((opts_.bpffs + "/" LB_MAP_IFACES).c_str());
  ASSERT_GE(ifaces, 0);
  EXPECT_EQ(IfaceEntry(ifaces, idx).tc_ingress_until_ns, 0u) << "nothing vouched before a check";
  guard->Check();
  const lb_iface first = IfaceEntry(ifaces, idx);
  const uint64_t until = first.tc_ingress_until_ns;
  EXPECT_GT(until, MonotonicNs() + 9'000'000'000ull);
  EXPECT_LE(until, MonotonicNs() + 10'000'000'000ull);
  EXPECT_EQ(guard->State()[0].reattached_ingress, 0u);

  ASSERT_EQ(std::system("tc filter del dev dpa0 ingress"), 0);
  ASSERT_NE(std::system("tc filter show dev dpa0 ingress | grep -q tc_lb_ingress"), 0);
  const std::string ctl = std::string(IRONLB_BINARY_DIR) + "/bin/ironlbctl --bpffs " + opts_.bpffs;
  auto list = nlohmann::json::parse(Shell(ctl + " -j iface list"));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["interface"], "dpa0");
  EXPECT_EQ(list[0]["tc"]["ingress"], false);
  EXPECT_EQ(list[0]["tc"]["egress"], true);
  EXPECT_GT(list[0]["ingress_vouched_ms"].get<int64_t>(), 0) << "the vouch lapses by itself";

  guard->Check();
  EXPECT_EQ(std::system("tc filter show dev dpa0 ingress | grep -q tc_lb_ingress"), 0);
  EXPECT_EQ(guard->State()[0].reattached_ingress, 1u);
  EXPECT_TRUE(guard->State()[0].ingress);
  EXPECT_GE(IfaceEntry(ifaces, idx).tc_ingress_until_ns, until);
  EXPECT_EQ(std::memcmp(IfaceEntry(ifaces, idx).mac, first.mac, 6), 0) << "the MAC is kept";

  // The whole clsact qdisc gone: both hooks come back.
  ASSERT_EQ(std::system("tc qdisc del dev dpa0 clsact"), 0);
  guard->Check();
  EXPECT_EQ(std::system("tc filter show dev dpa0 egress | grep -q tc_lb_egress"), 0);
  EXPECT_EQ(std::system("tc filter show dev dpa0 ingress | grep -q tc_lb_ingress"), 0);
  EXPECT_EQ(guard->State()[0].reattached_ingress, 2u);
  EXPECT_EQ(guard->State()[0].reattached_egress, 1u);
  EXPECT_EQ(guard->Status()[0]["reattached"]["egress"], 1);

  list = nlohmann::json::parse(Shell(ctl + " -j iface list"));
  EXPECT_EQ(list[0]["tc"]["ingress"], true);
  EXPECT_NE(Shell(ctl + " iface list").find("s left"), std::string::npos);
  close(ifaces);
}

// An agent from before the vouch pinned lb_ifaces with 8-byte values (the MAC alone): the new
// layout replaces the pin (the old XDP program keeps its own map while it runs), the MAC is
// written again, and a restarted agent keeps the vouch its predecessor gave.
TEST_F(DataplaneAttach, IfacesPinnedWithTheEightByteLayoutAreReplaced) {
  std::filesystem::create_directories(opts_.bpffs);
  const std::string path = opts_.bpffs + "/" LB_MAP_IFACES;
  const int old =
      bpf_map_create(BPF_MAP_TYPE_HASH, LB_MAP_IFACES, sizeof(__u32), 8, LB_MAX_IFACES, nullptr);
  ASSERT_GE(old, 0);
  const uint32_t idx = if_nametoindex("dpa0");
  const uint8_t mac8[8] = {0x02, 1, 2, 3, 4, 5, 0, 0};
  ASSERT_EQ(bpf_map_update_elem(old, &idx, mac8, BPF_ANY), 0);
  ASSERT_EQ(bpf_obj_pin(old, path.c_str()), 0);
  close(old);
  uint64_t vouched = 0;
  {
    auto dp = Dataplane::Open(opts_);
    const int now = bpf_obj_get(path.c_str());
    ASSERT_GE(now, 0);
    bpf_map_info info{};
    __u32 len = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(now, &info, &len), 0);
    EXPECT_EQ(info.value_size, sizeof(lb_iface));
    lb_iface v = IfaceEntry(now, idx);
    EXPECT_NE(v.mac[0] | v.mac[1] | v.mac[2] | v.mac[3] | v.mac[4] | v.mac[5], 0)
        << "dpa0's MAC written again";
    dp->MakeTcGuard()->Check();
    vouched = IfaceEntry(now, idx).tc_ingress_until_ns;
    EXPECT_GT(vouched, 0u);
    close(now);
  }
  auto again = Dataplane::Open(opts_);
  const int now = bpf_obj_get(path.c_str());
  ASSERT_GE(now, 0);
  EXPECT_EQ(IfaceEntry(now, idx).tc_ingress_until_ns, vouched);
  close(now);
}

}  // namespace
}  // namespace ironlb::dataplane
