#include "dataplane/dataplane.h"

#include <arpa/inet.h>
#include <linux/magic.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "dataplane/libbpf_log.h"
#include "dataplane/reasons.h"
#include "runtime/log.h"

namespace ironlb::dataplane {
namespace {

constexpr const char* kLog = "dataplane";

bool OnBpffs(const std::string& path) {
  struct statfs fs {};
  return statfs(path.c_str(), &fs) == 0 && fs.f_type == BPF_FS_MAGIC;
}

lb_iface InterfaceMac(const std::string& name) {
  lb_iface v{};
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  ifreq req{};
  std::strncpy(req.ifr_name, name.c_str(), IFNAMSIZ - 1);
  const int rc = ioctl(s, SIOCGIFHWADDR, &req);
  close(s);
  if (rc != 0) throw std::runtime_error("cannot read the MAC of " + name);
  std::memcpy(v.mac, req.ifr_hwaddr.sa_data, sizeof(v.mac));
  return v;
}

XdpAttachMode ToAttachMode(DataplaneOptions::XdpMode m) {
  switch (m) {
    case DataplaneOptions::XdpMode::kNative: return XdpAttachMode::kNative;
    case DataplaneOptions::XdpMode::kGeneric: return XdpAttachMode::kGeneric;
    case DataplaneOptions::XdpMode::kAuto: return XdpAttachMode::kAuto;
  }
  return XdpAttachMode::kAuto;
}

uint32_t IfIndex(const std::string& name) {
  const uint32_t idx = if_nametoindex(name.c_str());
  if (idx == 0) throw std::runtime_error("no such interface: " + name);
  return idx;
}

}  // namespace

void EnsureBpffs(const std::string& dir) {
  std::filesystem::create_directories(dir);
  if (OnBpffs(dir)) return;
  if (mount("bpf", dir.c_str(), "bpf", 0, "mode=0700") != 0)
    throw std::runtime_error(
        dir + " is not on a bpf filesystem and mounting one failed: " + std::strerror(errno));
  log::Info(kLog, "mounted a bpf filesystem on " + dir);
}

std::unique_ptr<Dataplane> Dataplane::Open(const DataplaneOptions& opts) {
  RouteLibbpfOutput();
  EnsureBpffs(opts.bpffs);
  // libxdp keeps its dispatcher state on a bpffs (default /sys/fs/bpf) and silently degrades to
  // a lone program without one; point it at ours when the default is missing.
  if (!std::getenv("LIBXDP_BPFFS") && !OnBpffs("/sys/fs/bpf"))
    setenv("LIBXDP_BPFFS", opts.bpffs.c_str(), 0);
  std::unique_ptr<Dataplane> dp(new Dataplane());
  LoadOptions load{opts.bpffs, std::nullopt};
  load.max_services = opts.max_services;
  load.max_backends = opts.max_backends;
  load.nexthop_table = opts.nexthop_table;
  load.flow_cache_entries = opts.flow_cache_entries;
  load.mss_clamp_mtu = opts.mss_clamp_mtu;
  for (const auto& name : opts.interfaces) {
    InterfaceAttachment a;
    a.name = name;
    a.ifindex = IfIndex(name);
    dp->ifindex_[name] = a.ifindex;
    if (XdpAttached(a.ifindex)) {
      a.xdp = "kept";
      a.mode = "unknown";
      log::Info(kLog, name + ": XDP already attached by a previous agent; adopting it as it is");
    } else {
      dp->objects_.push_back(AttachXdp(a.ifindex, load, ToAttachMode(opts.mode), &a));
      // One line says which mode was chosen and why; libbpf's own output went to debug.
      const std::string line = name + ": XDP attached in " + a.mode + " mode" +
                               (a.xdp == "dispatcher" ? " through libxdp's dispatcher" : " alone") +
                               " (" + a.why + ")";
      if (a.degraded) {
        log::Warn(kLog, line);
      } else {
        log::Info(kLog, line);
      }
    }
    dp->attachments_.push_back(a);
  }
  // Map fds and the tc program come from any loaded instance; all share the pinned maps.
  if (dp->objects_.empty()) dp->objects_.push_back(BpfObjects::OpenAndLoad(load));
  BpfObjects& objs = *dp->objects_.front();
  for (auto& a : dp->attachments_)
    AttachTc(a.ifindex, objs.tc_prog_fd(), objs.tc_ingress_prog_fd(), &a);
  std::map<MapId, int> fds;
  for (MapId m : {MapId::kServices, MapId::kBackends, MapId::kMaglev, MapId::kConntrack,
                  MapId::kEndpoints, MapId::kL2, MapId::kIfaces, MapId::kNode, MapId::kVipAddrs,
                  MapId::kL2Live, MapId::kReasonStats, MapId::kServiceKeys})
    fds[m] = objs.map_fd(MapName(m));
  dp->ops_ = std::make_unique<BpfMapOps>(fds);
  for (const auto& a : dp->attachments_) {
    lb_iface v = InterfaceMac(a.name);
    // A restarted agent keeps its predecessor's tc_lb_ingress vouch (the program stayed
    // attached) until its own TcGuard checks, rather than stopping hand-offs in between.
    if (const auto old = dp->ops_->Lookup(MapId::kIfaces, ToBytes(a.ifindex));
        old && old->size() == sizeof(lb_iface)) {
      lb_iface was;
      std::memcpy(&was, old->data(), sizeof was);
      v.tc_ingress_until_ns = was.tc_ingress_until_ns;
    }
    dp->ops_->Update(MapId::kIfaces, ToBytes(a.ifindex), ToBytes(v));
  }
  dp->reason_counters_ = true;
  dp->sync_ = std::make_unique<MapSync>(*dp->ops_);
  if (opts.nexthop_table) {
    std::vector<uint32_t> ingress;
    for (const auto& a : dp->attachments_) ingress.push_back(a.ifindex);
    dp->nexthops_ = std::make_unique<NextHopTable>(
        objs.map_fd(LB_MAP_NEXTHOPS), objs.map_fd(LB_MAP_NEXTHOP_LIVE), std::move(ingress));
    dp->nexthops_->SetEndpoints(dp->LocalEndpoints());
  }
  dp->neighbours_ = std::make_unique<NodeNeighbours>();
  return dp;
}

void Dataplane::Remove(const DataplaneOptions& opts) {
  for (const auto& name : opts.interfaces) {
    const uint32_t idx = if_nametoindex(name.c_str());
    if (idx) DetachAll(idx);
  }
  NodeNeighbours::RemoveAll();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(opts.bpffs, ec))
    if (entry.path().filename().string().rfind("lb_", 0) == 0)
      std::filesystem::remove(entry.path(), ec);
}

Dataplane::Dataplane(std::unique_ptr<MapOps> ops, std::map<std::string, uint32_t> ifindex)
    : ops_(std::move(ops)), ifindex_(std::move(ifindex)) {
  sync_ = std::make_unique<MapSync>(*ops_);
}

Dataplane::~Dataplane() = default;

NextHopTable::Endpoints Dataplane::LocalEndpoints() const {
  NextHopTable::Endpoints out;  // in id order, as ForEachBackend goes
  sync_->ForEachBackend([&](uint32_t id, const lb_backend& b) {
    if (b.action == LB_ACTION_LOCAL)
      out.emplace_back(id, IPAddr::FromBytes(b.family == LB_FAMILY_V4 ? Family::kV4 : Family::kV6,
                                             reinterpret_cast<const uint8_t*>(b.addr)));
  });
  return out;
}

const SyncStats& Dataplane::Apply(const DesiredDataplane& desired) {
  std::set<IPAddr> tunnels;
  for (const auto& s : desired.services)
    for (const auto& b : s.backends)
      if (b.tunnel) tunnels.insert(*b.tunnel);
  // Before the maps name a new node: its next hop starts resolving first.
  if (tunnels != tunnels_ && neighbours_) neighbours_->Set(tunnels);
  tunnels_ = std::move(tunnels);
  last_ = sync_->Apply(desired);
  if (nexthops_) nexthops_->SetEndpoints(LocalEndpoints());
  return last_;
}

void Dataplane::KeepNeighbours(bool link_up) {
  if (neighbours_) neighbours_->Refresh(link_up);
}

std::vector<std::string> Dataplane::Detached() const {
  std::vector<std::string> out;
  for (const auto& a : attachments_)
    if (!XdpAttached(a.ifindex)) out.push_back(a.name);
  return out;
}

std::unique_ptr<TcGuard> Dataplane::MakeTcGuard() const {
  if (objects_.empty() || !reason_counters_) return nullptr;
  const BpfObjects& objs = *objects_.front();
  std::vector<TcGuard::Interface> ifaces;
  for (const auto& a : attachments_) ifaces.push_back({a.name, a.ifindex});
  return std::make_unique<TcGuard>(
      KernelTcHooks(objs.tc_prog_fd(), objs.tc_ingress_prog_fd(), objs.map_fd(LB_MAP_IFACES)),
      std::move(ifaces));
}

nlohmann::json Dataplane::Status() const {
  nlohmann::json j = sync_->Summary();
  j["interfaces"] = nlohmann::json::array();
  for (const auto& a : attachments_) j["interfaces"].push_back(a.json());
  j["last_apply"] = {{"backends_written", last_.backends_written},
                     {"backends_removed", last_.backends_removed},
                     {"services_written", last_.services_written},
                     {"services_removed", last_.services_removed},
                     {"tables_written", last_.tables_written}};
  j["endpoints_over_vip_limit"] = last_.endpoints_over_vip_limit;
  j["refused"] = nlohmann::json::array();
  for (const auto& r : last_.refused)
    j["refused"].push_back({{"service", r.name}, {"vip", r.key}, {"reason", r.reason}});
  if (reason_counters_) j["reasons"] = ReasonCounts();
  if (neighbours_) j["node_neighbours"] = neighbours_->Status();
  return j;
}

nlohmann::json Dataplane::ReasonCounts() const {
  nlohmann::json reasons = nlohmann::json::object();
  if (!reason_counters_) return reasons;
  for (uint32_t r = 0; r < LB_R_MAX; ++r)
    reasons[ReasonName(r)] = SumCounters(*ops_, MapId::kReasonStats, r).packets;
  return reasons;
}

}  // namespace ironlb::dataplane
