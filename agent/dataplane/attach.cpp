#include "dataplane/attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "dataplane/libbpf_log.h"
#include "runtime/log.h"

namespace ironlb::dataplane {
namespace {

constexpr const char* kLog = "dataplane";

// Our tc filters' identity on the clsact hooks (the same on egress and ingress).
constexpr uint32_t kTcHandle = 0x1b;
constexpr uint32_t kTcPriority = 0x1b;

std::string ProgName(uint32_t prog_id) {
  int fd = bpf_prog_get_fd_by_id(prog_id);
  if (fd < 0) return "";
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  std::string name;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) name = info.name;
  close(fd);
  return name;
}

const char* ModeName(enum xdp_attach_mode m) {
  switch (m) {
    case XDP_MODE_NATIVE: return "native";
    case XDP_MODE_SKB: return "generic";
    case XDP_MODE_HW: return "offload";
    default: return "unknown";
  }
}

// The interface's driver name (ethtool's), "" when it has none to tell.
std::string DriverName(uint32_t ifindex) {
  char name[IF_NAMESIZE] = {};
  if (!if_indextoname(ifindex, name)) return "";
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return "";
  ethtool_drvinfo info{};
  info.cmd = ETHTOOL_GDRVINFO;
  ifreq req{};
  static_assert(sizeof(req.ifr_name) == sizeof(name));
  std::memcpy(req.ifr_name, name, sizeof(name));  // if_indextoname NUL-terminated it
  req.ifr_data = reinterpret_cast<char*>(&info);
  const int rc = ioctl(s, SIOCETHTOOL, &req);
  close(s);
  return rc == 0 ? std::string(info.driver) : "";
}

// Why native mode, though the kernel accepts it, would not work on this device; "" when it would.
// A veth delivers the frames XDP sends back out (ARP/NDP replies by XDP_TX, flows redirected to
// an endpoint) only when its peer runs XDP itself or has GRO on, and the peer usually lives in
// another namespace (kind, minikube, containers) where it cannot be checked; measured there,
// native mode's ARP replies never arrive and DNAT'ed TCP from senders that leave checksums to
// offload fails, while generic mode serves both.
std::string NativeUnsuitable(uint32_t ifindex) {
  if (DriverName(ifindex) == "veth")
    return "veth: frames native XDP transmits reach the peer only if the peer runs XDP or GRO, "
           "and partial checksums from local senders break DNAT; generic mode handles both";
  return "";
}

std::vector<enum xdp_attach_mode> ModesToTry(XdpAttachMode m) {
  switch (m) {
    case XdpAttachMode::kNative: return {XDP_MODE_NATIVE};
    case XdpAttachMode::kGeneric: return {XDP_MODE_SKB};
    case XdpAttachMode::kAuto: return {XDP_MODE_NATIVE, XDP_MODE_SKB};
  }
  return {};
}

}  // namespace

nlohmann::json InterfaceAttachment::json() const {
  return {{"name", name}, {"ifindex", ifindex}, {"xdp", xdp}, {"mode", mode}, {"tc", tc}};
}

bool XdpAttached(uint32_t ifindex) {
  RouteLibbpfOutput();
  xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(static_cast<int>(ifindex));
  if (libxdp_get_error(mp) || !mp) return false;
  bool found = false;
  if (xdp_multiprog__is_legacy(mp)) {
    xdp_program* main = xdp_multiprog__main_prog(mp);
    found = main && std::strcmp(xdp_program__name(main), kXdpProgName) == 0;
  } else {
    for (xdp_program* p = xdp_multiprog__next_prog(nullptr, mp); p && !found;
         p = xdp_multiprog__next_prog(p, mp))
      found = std::strcmp(xdp_program__name(p), kXdpProgName) == 0;
  }
  xdp_multiprog__close(mp);
  return found;
}

std::unique_ptr<BpfObjects> AttachXdp(uint32_t ifindex, const LoadOptions& load, XdpAttachMode mode,
                                      InterfaceAttachment* out) {
  RouteLibbpfOutput();
  TakeLibxdpWarning();  // only this attach's warnings explain it
  const std::string asked = mode == XdpAttachMode::kAuto     ? "--xdp-mode auto"
                            : mode == XdpAttachMode::kNative ? "--xdp-mode native"
                                                             : "--xdp-mode generic";
  std::string errors;
  if (mode == XdpAttachMode::kAuto) {
    if (const std::string why = NativeUnsuitable(ifindex); !why.empty()) {
      log::Info(kLog, out->name + ": --xdp-mode auto picks generic: " + why);
      mode = XdpAttachMode::kGeneric;
    }
  }
  // 1. libxdp's dispatcher: libxdp loads the object itself (as a dispatcher component).
  for (auto m : ModesToTry(mode)) {
    auto objs = BpfObjects::Open(load);
    xdp_program* prog = xdp_program__from_bpf_obj(objs->xdp_object(), "xdp");
    if (libxdp_get_error(prog)) {
      errors += " dispatcher: cannot wrap program;";
      break;
    }
    int err = xdp_program__attach(prog, static_cast<int>(ifindex), m, 0);
    if (err == 0) {
      xdp_program__close(prog);  // the attachment is pinned by libxdp and outlives us
      objs->Finish();
      // Without a usable bpffs libxdp attaches the program alone instead of failing.
      xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(static_cast<int>(ifindex));
      const bool legacy = libxdp_get_error(mp) || !mp || xdp_multiprog__is_legacy(mp);
      if (!libxdp_get_error(mp) && mp) xdp_multiprog__close(mp);
      out->xdp = legacy ? "plain" : "dispatcher";
      out->mode = ModeName(m);
      out->why = asked;
      if (m == XDP_MODE_SKB && mode == XdpAttachMode::kAuto)
        out->why += ", native refused:" + errors + " generic mode is slower";
      if (legacy) {
        const std::string libxdp = TakeLibxdpWarning();
        out->why += "; libxdp's dispatcher unavailable (" +
                    (libxdp.empty() ? std::string("no bpffs for its state?") : libxdp) +
                    "), so xdp_lb runs alone";
      }
      out->degraded = (m == XDP_MODE_SKB && mode == XdpAttachMode::kAuto) || legacy;
      return objs;
    }
    xdp_program__close(prog);
    errors += std::string(" dispatcher/") + ModeName(m) + ": " + std::strerror(-err) + ";";
  }
  // 2. Plain attach, the only program on the interface.
  for (auto m : ModesToTry(mode)) {
    auto objs = BpfObjects::OpenAndLoad(load);
    const uint32_t flags =
        XDP_FLAGS_UPDATE_IF_NOEXIST | (m == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
    int err = bpf_xdp_attach(static_cast<int>(ifindex), objs->xdp_prog_fd(), flags, nullptr);
    if (err == 0) {
      out->xdp = "plain";
      out->mode = ModeName(m);
      out->why = asked + "; libxdp's dispatcher refused (" + errors +
                 "), so xdp_lb runs alone and no other XDP program can share the interface";
      out->degraded = true;
      return objs;
    }
    errors += std::string(" plain/") + ModeName(m) + ": " + std::strerror(-err) + ";";
  }
  throw std::runtime_error("cannot attach XDP to " + out->name + ":" + errors);
}

namespace {

void DetachTcHook(uint32_t ifindex, enum bpf_tc_attach_point point) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = point);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
  bpf_tc_detach(&hook, &opts);
}

}  // namespace

bool TcAttached(uint32_t ifindex, bool ingress, const char* name) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex),
              .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_opts, query, .handle = kTcHandle, .priority = kTcPriority);
  return bpf_tc_query(&hook, &query) == 0 && ProgName(query.prog_id) == name;
}

bool AttachTcHook(uint32_t ifindex, bool ingress, int prog_fd, const char* name,
                  const std::string& ifname) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex),
              .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
  int err = bpf_tc_hook_create(&hook);
  if (err && err != -EEXIST)
    throw std::runtime_error("cannot create clsact on " + ifname + ": " + std::strerror(-err));
  if (TcAttached(ifindex, ingress, name)) return false;
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE, .handle = kTcHandle,
              .priority = kTcPriority);
  err = bpf_tc_attach(&hook, &opts);
  if (err)
    throw std::runtime_error(std::string("cannot attach ") + name + " on " + ifname + ": " +
                             std::strerror(-err));
  return true;
}

void AttachTc(uint32_t ifindex, int tc_prog_fd, int tc_ingress_prog_fd, InterfaceAttachment* out) {
  const bool egress = AttachTcHook(ifindex, false, tc_prog_fd, kTcProgName, out->name);
  try {
    const bool ingress =
        AttachTcHook(ifindex, true, tc_ingress_prog_fd, kTcIngressProgName, out->name);
    out->tc = egress || ingress ? "attached" : "kept";
  } catch (const std::exception& e) {
    // Only the hand-off of frames awaiting a neighbour needs it: the node serves without, and
    // the TcGuard tries again every second.
    out->tc = "ingress missing";
    log::Warn(kLog, std::string(e.what()) +
                        "; retried every second, meanwhile encapsulated frames whose next hop is "
                        "unresolved are dropped (drop_no_tc_ingress)");
  }
}

void DetachAll(uint32_t ifindex) {
  RouteLibbpfOutput();
  xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(static_cast<int>(ifindex));
  if (!libxdp_get_error(mp) && mp) {
    if (xdp_multiprog__is_legacy(mp)) {
      xdp_program* main = xdp_multiprog__main_prog(mp);
      if (main && std::strcmp(xdp_program__name(main), kXdpProgName) == 0)
        xdp_multiprog__detach(mp);
    } else {
      for (xdp_program* p = xdp_multiprog__next_prog(nullptr, mp); p;
           p = xdp_multiprog__next_prog(p, mp))
        if (std::strcmp(xdp_program__name(p), kXdpProgName) == 0) {
          xdp_program__detach(p, static_cast<int>(ifindex), xdp_multiprog__attach_mode(mp), 0);
          break;
        }
    }
    xdp_multiprog__close(mp);
  }
  DetachTcHook(ifindex, BPF_TC_EGRESS);
  DetachTcHook(ifindex, BPF_TC_INGRESS);
}

}  // namespace ironlb::dataplane
