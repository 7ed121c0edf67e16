// Attaching ironlb's programs to interfaces: XDP through libxdp's multi-program dispatcher (so a
// CNI's or firewall's XDP program can run beside it), a plain attach where the dispatcher cannot
// load, native mode with a generic fallback; tc egress for reverse NAT, tc ingress for the
// encapsulated frames XDP hands up while their next hop resolves. An interface that already
// runs xdp_lb / tc_lb (a restarted agent) is left exactly as it is, so traffic never stops.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dataplane/bpf_objects.h"

namespace ironlb::dataplane {

enum class XdpAttachMode { kNative, kGeneric, kAuto };

struct InterfaceAttachment {
  std::string name;
  uint32_t ifindex = 0;
  std::string xdp;        // "dispatcher", "plain" or "kept" (already attached before this process)
  std::string mode;       // "native", "generic", "unknown"
  std::string tc;         // "attached", "kept", or "ingress missing" (retried by the TcGuard)
  std::string why;        // how the mode was chosen, for the one line the agent logs
  bool degraded = false;  // a fallback (generic mode, no dispatcher): logged as a warning
  nlohmann::json json() const;
};

// Name of the XDP program every attachment check looks for.
inline constexpr const char* kXdpProgName = "xdp_lb";
inline constexpr const char* kTcProgName = "tc_lb_egress";
inline constexpr const char* kTcIngressProgName = "tc_lb_ingress";

// True if xdp_lb already runs on ifindex (in a dispatcher or attached alone).
bool XdpAttached(uint32_t ifindex);

// Attaches a fresh xdp_lb (maps pinned in pin_dir) to ifindex. Returns the objects that were
// loaded (their maps are the pinned ones). Throws std::runtime_error when every way fails.
std::unique_ptr<BpfObjects> AttachXdp(uint32_t ifindex, const LoadOptions& load, XdpAttachMode mode,
                                      InterfaceAttachment* out);

// Attaches tc_prog_fd (tc_lb_egress) to the clsact egress hook of ifindex and tc_ingress_prog_fd
// (tc_lb_ingress) to its ingress hook, each unless it is already there. Throws when egress cannot
// be attached (replies would leave untranslated); an ingress that cannot is only logged: the
// TcGuard retries it, and xdp_lb meanwhile drops what it would hand to it (drop_no_tc_ingress).
void AttachTc(uint32_t ifindex, int tc_prog_fd, int tc_ingress_prog_fd, InterfaceAttachment* out);

// Whether ironlb's program `name` (kTcProgName, kTcIngressProgName) is the filter at our handle
// and priority on that clsact hook of ifindex.
bool TcAttached(uint32_t ifindex, bool ingress, const char* name);
// Attaches prog_fd there unless `name` already runs there (creating clsact if needed). True if it
// attached; throws std::runtime_error naming interface and program when it cannot.
bool AttachTcHook(uint32_t ifindex, bool ingress, int prog_fd, const char* name,
                  const std::string& ifname);

// Removes xdp_lb and tc_lb from ifindex (uninstall, tests). Other programs stay.
void DetachAll(uint32_t ifindex);

}  // namespace ironlb::dataplane
