// A standalone speaker for the interop e2e tests (test/e2e/test_bgp_interop.py), run inside
// a network namespace until the lead's agent drives Speaker itself. Skipped unless
// IRONLB_BGP_LIVE_PEER is set. Env: IRONLB_BGP_LIVE_{PEER,MY_ASN,PEER_ASN,VIPS,COMMUNITIES,
// LOCAL_PREF,PASSWORD,HOLD,STOP_FILE,STATUS_FILE,BFD,BFD_FILE}; the speaker runs until STOP_FILE
// exists, then shuts down (Cease/Administrative Shutdown) as the agent does on SIGTERM.
// BFD is "rx_ms,tx_ms,mult[,passive]" (a BFDProfile for the peer); BFD_FILE, when it exists,
// replaces it and is re-read on change, as a profile edit would be.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/asio.hpp>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>

#include "bgp/speaker.h"

namespace ironlb::bgp {
namespace {

std::string Env(const char* name, const char* def = "") {
  const char* v = std::getenv(name);
  return v ? v : def;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

// "rx,tx,mult[,passive]" -> the BFDProfile named "bfd".
std::optional<BFDProfile> ParseBfd(const std::string& spec) {
  auto f = SplitComma(spec.substr(0, spec.find('\n')));
  if (f.size() < 3) return std::nullopt;
  BFDProfile b;
  b.meta.name = "bfd";
  b.receive_interval_ms = static_cast<uint32_t>(std::stoul(f[0]));
  b.transmit_interval_ms = static_cast<uint32_t>(std::stoul(f[1]));
  b.detect_multiplier = static_cast<uint32_t>(std::stoul(f[2]));
  b.passive_mode = f.size() > 3 && f[3] == "passive";
  return b;
}

TEST(Live, Speaker) {
  const std::string peer_addr = Env("IRONLB_BGP_LIVE_PEER");
  if (peer_addr.empty()) GTEST_SKIP() << "IRONLB_BGP_LIVE_PEER not set";
  Config cfg;
  Snapshot snap;
  BGPPeer peer;
  peer.meta.name = "router";
  peer.peer_address = peer_addr;
  peer.my_asn = static_cast<uint32_t>(std::stoul(Env("IRONLB_BGP_LIVE_MY_ASN", "64512")));
  peer.peer_asn = static_cast<uint32_t>(std::stoul(Env("IRONLB_BGP_LIVE_PEER_ASN", "64513")));
  peer.password = Env("IRONLB_BGP_LIVE_PASSWORD");
  peer.hold_time = std::chrono::seconds(std::stoi(Env("IRONLB_BGP_LIVE_HOLD", "9")));
  peer.connect_time = std::chrono::seconds(1);
  if (auto bfd = ParseBfd(Env("IRONLB_BGP_LIVE_BFD"))) {
    cfg.bfd_profiles["bfd"] = *bfd;
    peer.bfd_profile = "bfd";
  }
  cfg.peers["router"] = peer;
  BGPAdvertisement adv;
  adv.meta.name = "adv";
  adv.communities = SplitComma(Env("IRONLB_BGP_LIVE_COMMUNITIES"));
  adv.local_pref = static_cast<uint32_t>(std::stoul(Env("IRONLB_BGP_LIVE_LOCAL_PREF", "0")));
  cfg.bgp_advertisements["adv"] = adv;
  IPAddressPool pool;
  pool.meta.name = "pool";
  pool.ranges = {
      IPRange{*IPAddr::Parse("0.0.0.0"), *IPAddr::Parse("255.255.255.255")},
      IPRange{*IPAddr::Parse("::"), *IPAddr::Parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")}};
  cfg.pools["pool"] = pool;
  auto set_vips = [&snap](const std::vector<std::string>& vips) {
    snap.services.clear();
    snap.endpoint_slices.clear();
    int i = 0;
    for (const std::string& vip : vips) {
      Service s;
      s.meta.ns = "default";
      s.meta.name = "svc" + std::to_string(i++);
      s.type = "LoadBalancer";
      s.ingress = {{vip, "", ""}};
      snap.services.push_back(s);
      EndpointSlice es;
      es.meta.ns = "default";
      es.meta.labels = {{"kubernetes.io/service-name", s.meta.name}};
      Endpoint e;
      e.node_name = "node";
      es.endpoints = {e};
      snap.endpoint_slices.push_back(es);
    }
  };
  set_vips(SplitComma(Env("IRONLB_BGP_LIVE_VIPS")));
  // IRONLB_BGP_LIVE_VIPS_FILE, when it exists, replaces the VIP list (comma separated) and is
  // re-read whenever it changes: Services come and go without restarting the speaker.
  const std::string vips_file = Env("IRONLB_BGP_LIVE_VIPS_FILE");
  std::string last_vips;
  const std::string bfd_file = Env("IRONLB_BGP_LIVE_BFD_FILE");
  std::string last_bfd;
  boost::asio::io_context io;
  Speaker speaker(io, "node");
  speaker.Apply(cfg, snap);
  const std::string stop_file = Env("IRONLB_BGP_LIVE_STOP_FILE");
  const std::string status_file = Env("IRONLB_BGP_LIVE_STATUS_FILE");
  boost::asio::steady_timer poll(io);
  bool done = false;
  std::function<void()> tick = [&] {
    if (!status_file.empty()) {
      std::ofstream(status_file + ".tmp") << speaker.Status().dump();
      std::rename((status_file + ".tmp").c_str(), status_file.c_str());
    }
    if (!vips_file.empty()) {
      std::ifstream f(vips_file);
      std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      if (f.is_open() && content != last_vips) {
        last_vips = content;
        set_vips(SplitComma(content.substr(0, content.find('\n'))));
        speaker.Apply(cfg, snap);
      }
    }
    if (!bfd_file.empty()) {
      std::ifstream f(bfd_file);
      std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      if (f.is_open() && content != last_bfd) {
        last_bfd = content;
        if (auto bfd = ParseBfd(content)) {
          cfg.bfd_profiles["bfd"] = *bfd;
          cfg.peers["router"].bfd_profile = "bfd";
        } else {
          cfg.peers["router"].bfd_profile.clear();
        }
        speaker.Apply(cfg, snap);
      }
    }
    struct stat st;
    if (!stop_file.empty() && stat(stop_file.c_str(), &st) == 0) {
      speaker.Shutdown([&] { done = true; });
      return;
    }
    poll.expires_after(std::chrono::milliseconds(20));
    poll.async_wait([&](const boost::system::error_code&) { tick(); });
  };
  tick();
  while (!done && io.run_one()) {
  }
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace ironlb::bgp
