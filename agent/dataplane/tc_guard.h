// Keeps ironlb's tc programs on every uplink and tells xdp_lb, through lb_iface, until when
// tc_lb_ingress is known to be there (its hand-off of frames awaiting a neighbour needs it).
//
// xdp_lb hands an encapsulated frame whose next hop is unresolved up to tc_lb_ingress
// (bpf/encap.h). If that filter is gone (removed by hand, a half-finished upgrade, an attach that
// failed) the kernel drops the frame unseen. XDP cannot see the tc hooks, so the agent checks them
// every second: a missing program is attached again (logged, counted), and while tc_lb_ingress is
// attached the interface's lb_iface.tc_ingress_until_ns is moved to now + kVouch. An agent that
// stops renewing (stopped, hung, gone) lets the vouch lapse, and xdp_lb then drops such frames as
// drop_no_tc_ingress: a counted, named loss instead of a silent one.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ironlb::dataplane {

enum class TcHook { kIngress, kEgress };
const char* TcHookName(TcHook h);  // "ingress", "egress"

// The kernel side of the guard; unit tests replace it with a fake.
class TcHooks {
 public:
  virtual ~TcHooks() = default;
  // Whether ironlb's program for `hook` runs at that clsact hook of ifindex now.
  virtual bool Attached(uint32_t ifindex, TcHook hook) = 0;
  // Attaches it; throws std::runtime_error saying why it cannot.
  virtual void Attach(uint32_t ifindex, const std::string& ifname, TcHook hook) = 0;
  // Writes lb_iface.tc_ingress_until_ns of ifindex (0: hand nothing to tc), keeping its MAC.
  virtual void Vouch(uint32_t ifindex, uint64_t until_ns) = 0;
  // CLOCK_MONOTONIC in ns: bpf_ktime_get_ns()'s clock, the one the vouch is compared against.
  virtual uint64_t NowNs() = 0;
};

// The real hooks: the programs' fds (which must outlive this) and the lb_ifaces map's.
std::unique_ptr<TcHooks> KernelTcHooks(int egress_prog_fd, int ingress_prog_fd, int ifaces_map_fd);

// What the guard last saw on one interface, for status, metrics and ironlbctl.
struct TcInterfaceState {
  std::string name;
  uint32_t ifindex = 0;
  bool ingress = false;
  bool egress = false;
  uint64_t vouched_until_ns = 0;  // as last written; 0: not vouched
  uint64_t reattached_ingress = 0;
  uint64_t reattached_egress = 0;
  // Set while an attach or the vouch keeps failing, so each outage is logged once, not per second.
  bool ingress_failing = false;
  bool egress_failing = false;
  bool vouch_failing = false;
};

class TcGuard {
 public:
  // How far ahead each check vouches for tc_lb_ingress. Renewed every kPeriod, so the loop that
  // renews it may be held up to kVouch - kPeriod (a 10,000-Service pass holds the event loop
  // 1-2 s under ASan) before hand-offs stop; a stopped agent stops them after at most kVouch.
  static constexpr std::chrono::seconds kVouch{10};
  static constexpr std::chrono::seconds kPeriod{1};

  struct Interface {
    std::string name;
    uint32_t ifindex = 0;
  };
  TcGuard(std::unique_ptr<TcHooks> hooks, std::vector<Interface> interfaces);

  // One pass over every interface: query, attach what is missing, vouch or withdraw the vouch.
  // Never throws: a kernel error is logged and retried on the next pass.
  void Check();

  const std::vector<TcInterfaceState>& State() const { return state_; }
  // [{name, ifindex, ingress, egress, ingress_vouched_ms (left now; negative: lapsed),
  //   ingress_vouched_until_ns (CLOCK_MONOTONIC), reattached: {ingress, egress}}]
  nlohmann::json Status() const;

 private:
  // True if the hook's program is there after this call (found, or attached again).
  bool Ensure(TcInterfaceState& s, TcHook hook);

  std::unique_ptr<TcHooks> hooks_;
  std::vector<TcInterfaceState> state_;
};

}  // namespace ironlb::dataplane
