#include "dataplane/bpf_objects.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "dataplane/libbpf_log.h"
#include "dataplane/map_layout.h"
#include "runtime/log.h"
#include "tc_lb.skel.h"
#include "xdp_lb.skel.h"

namespace ironlb::dataplane {
namespace {

// The maps that outlive the agent (state and counters); lb_ct_rate and lb_flow_cache stay per
// program instance (the cache's copies are retired through the pinned lb_flow_gen).
constexpr const char* kPinnedMaps[] = {LB_MAP_SERVICES,      LB_MAP_BACKENDS,     LB_MAP_MAGLEV,
                                       LB_MAP_CONNTRACK,     LB_MAP_ENDPOINTS,    LB_MAP_L2,
                                       LB_MAP_IFACES,        LB_MAP_NODE,         LB_MAP_VIP_STATS,
                                       LB_MAP_BACKEND_STATS, LB_MAP_REASON_STATS, LB_MAP_VIP_ADDRS,
                                       LB_MAP_L2_LIVE,       LB_MAP_L2_STATS,     LB_MAP_NEXTHOPS,
                                       LB_MAP_NEXTHOP_LIVE,  LB_MAP_SERVICE_KEYS, LB_MAP_FLOW_GEN};

std::string Errno(int err) {
  return std::strerror(err < 0 ? -err : err);
}

// A map pinned by an older agent, or under other --max-* sizes, cannot be reused: libbpf refuses
// it and the load fails, so an upgrade would need hand-deleted pins. Replace such a pin instead
// and say what starts afresh; every other pinned map is adopted with its contents.
void ReplaceIncompatiblePin(bpf_map* m, const std::string& path) {
  const int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return;  // nothing pinned there yet
  bpf_map_info info{};
  __u32 len = sizeof(info);
  const int err = bpf_obj_get_info_by_fd(fd, &info, &len);
  close(fd);
  if (err) return;  // libbpf's own check will say what is wrong
  auto differ = [](const char* what, uint64_t have, uint64_t want) {
    return std::string(what) + " " + std::to_string(have) + ", now " + std::to_string(want);
  };
  std::string why;
  if (info.type != static_cast<__u32>(bpf_map__type(m))) {
    why = differ("type", info.type, bpf_map__type(m));
  } else if (info.key_size != bpf_map__key_size(m)) {
    why = differ("key size", info.key_size, bpf_map__key_size(m));
  } else if (info.value_size != bpf_map__value_size(m)) {
    why = differ("value size", info.value_size, bpf_map__value_size(m));
  } else if (info.max_entries != bpf_map__max_entries(m)) {
    why = differ("entries", info.max_entries, bpf_map__max_entries(m));
  } else if (info.map_flags != bpf_map__map_flags(m)) {
    why = differ("flags", info.map_flags, bpf_map__map_flags(m));
  }
  if (why.empty()) return;
  if (unlink(path.c_str()) != 0)
    throw std::runtime_error("pinned map " + path + " has another layout (" + why +
                             ") and cannot be removed: " + Errno(errno));
  const bool conntrack = std::strcmp(bpf_map__name(m), LB_MAP_CONNTRACK) == 0;
  log::Warn("dataplane",
            "pinned map " + path + " had another layout (" + why +
                "; an older agent or other --max-* sizes): replaced, its contents start afresh" +
                (conntrack ? " (established flows are placed again by Maglev)" : ""));
}

void SetPinPaths(bpf_object* obj, const std::string& dir) {
  for (const char* name : kPinnedMaps) {
    bpf_map* m = bpf_object__find_map_by_name(obj, name);
    if (!m) continue;
    const std::string path = dir + "/" + name;
    ReplaceIncompatiblePin(m, path);
    if (int err = bpf_map__set_pin_path(m, path.c_str()))
      throw std::runtime_error("cannot set pin path " + path + ": " + Errno(err));
  }
}

void SetSize(bpf_object* obj, const char* name, uint32_t entries) {
  bpf_map* m = bpf_object__find_map_by_name(obj, name);
  if (!m || entries == 0) return;
  if (int err = bpf_map__set_max_entries(m, entries))
    throw std::runtime_error(std::string("cannot size map ") + name + ": " + Errno(err));
}

}  // namespace

uint32_t BpfObjects::FlowCacheSetsPerCpu(uint32_t entries, uint32_t cpus) {
  return cpus ? std::bit_floor(entries / cpus / 2) : 0;
}

BpfObjects::~BpfObjects() {
  if (tc_) tc_lb::destroy(tc_);
  if (xdp_) xdp_lb::destroy(xdp_);
}

std::unique_ptr<BpfObjects> BpfObjects::Open(const LoadOptions& opts) {
  std::unique_ptr<BpfObjects> o(new BpfObjects());
  o->opts_ = opts;
  o->xdp_ = xdp_lb::open();
  if (!o->xdp_) throw std::runtime_error("cannot open xdp_lb: " + Errno(errno));
  if (opts.max_ct_inserts_per_sec)
    o->xdp_->rodata->cfg_max_ct_inserts_per_sec = *opts.max_ct_inserts_per_sec;
  // Per-service and per-backend maps share an index space, so they are sized together.
  for (const char* m : {LB_MAP_SERVICES, LB_MAP_SERVICE_KEYS, LB_MAP_VIP_STATS, LB_MAP_VIP_ADDRS})
    SetSize(o->xdp_->obj, m, opts.max_services);
  for (const char* m : {LB_MAP_BACKENDS, LB_MAP_BACKEND_STATS, LB_MAP_ENDPOINTS, LB_MAP_NEXTHOPS})
    SetSize(o->xdp_->obj, m, opts.max_backends);
  o->xdp_->rodata->cfg_nexthop_table = opts.nexthop_table ? 1 : 0;
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) throw std::runtime_error("cannot count the possible CPUs: " + Errno(cpus));
  const uint32_t sets = FlowCacheSetsPerCpu(opts.flow_cache_entries, static_cast<uint32_t>(cpus));
  o->xdp_->rodata->cfg_flow_cache_sets = sets;
  if (opts.flow_cache_entries && !sets)
    log::Warn("dataplane", "--flow-cache-entries " + std::to_string(opts.flow_cache_entries) +
                               " is less than one set of 2 entries for each of the " +
                               std::to_string(cpus) + " CPUs: the flow cache is off");
  SetSize(o->xdp_->obj, LB_MAP_FLOW_CACHE, sets ? sets * static_cast<uint32_t>(cpus) : 1);
  if (!opts.pin_dir.empty()) SetPinPaths(o->xdp_->obj, opts.pin_dir);
  return o;
}

std::unique_ptr<BpfObjects> BpfObjects::OpenAndLoad(const LoadOptions& opts) {
  auto o = Open(opts);
  o->Finish();
  return o;
}

void BpfObjects::Finish() {
  if (bpf_program__fd(xdp_->progs.xdp_lb) < 0) {
    if (int err = xdp_lb::load(xdp_)) {
      const std::string hint = " (needs CAP_BPF/CAP_NET_ADMIN)";
      const std::string libbpf = TakeLibbpfWarnings();
      throw std::runtime_error("cannot load xdp_lb: " + Errno(err) + hint +
                               (libbpf.empty() ? "" : "; libbpf said: " + libbpf));
    }
    xdp_loaded_by_us_ = true;
  }
  tc_ = tc_lb::open();
  if (!tc_) throw std::runtime_error("cannot open tc_lb: " + Errno(errno));
  tc_->rodata->cfg_mss_clamp_mtu = opts_.mss_clamp_mtu;
  // tc_lb uses the very maps xdp_lb has (pinned or not): hand it their fds before load.
  bpf_map* m;
  bpf_object__for_each_map(m, tc_->obj) {
    bpf_map* mine = bpf_object__find_map_by_name(xdp_->obj, bpf_map__name(m));
    if (!mine) continue;
    if (int err = bpf_map__reuse_fd(m, bpf_map__fd(mine)))
      throw std::runtime_error(std::string("cannot share map ") + bpf_map__name(m) + ": " +
                               Errno(err));
  }
  if (int err = tc_lb::load(tc_)) {
    const std::string libbpf = TakeLibbpfWarnings();
    throw std::runtime_error("cannot load tc_lb: " + Errno(err) +
                             (libbpf.empty() ? "" : "; libbpf said: " + libbpf));
  }
}

bpf_object* BpfObjects::xdp_object() const {
  return xdp_->obj;
}
int BpfObjects::xdp_prog_fd() const {
  return bpf_program__fd(xdp_->progs.xdp_lb);
}
int BpfObjects::tc_prog_fd() const {
  return tc_ ? bpf_program__fd(tc_->progs.tc_lb_egress) : -1;
}
int BpfObjects::tc_ingress_prog_fd() const {
  return tc_ ? bpf_program__fd(tc_->progs.tc_lb_ingress) : -1;
}

int BpfObjects::map_fd(const std::string& name) const {
  bpf_map* m = bpf_object__find_map_by_name(xdp_->obj, name.c_str());
  return m ? bpf_map__fd(m) : -1;
}

}  // namespace ironlb::dataplane
