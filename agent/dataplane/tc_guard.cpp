#include "dataplane/tc_guard.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "dataplane/attach.h"
#include "dataplane/map_layout.h"
#include "runtime/log.h"
#include "runtime/monotonic.h"

namespace ironlb::dataplane {
namespace {

constexpr const char* kLog = "dataplane";

class Kernel : public TcHooks {
 public:
  Kernel(int egress, int ingress, int ifaces)
      : egress_(egress), ingress_(ingress), ifaces_(ifaces) {}

  bool Attached(uint32_t ifindex, TcHook hook) override {
    return hook == TcHook::kIngress ? TcAttached(ifindex, true, kTcIngressProgName)
                                    : TcAttached(ifindex, false, kTcProgName);
  }

  void Attach(uint32_t ifindex, const std::string& ifname, TcHook hook) override {
    if (hook == TcHook::kIngress)
      AttachTcHook(ifindex, true, ingress_, kTcIngressProgName, ifname);
    else
      AttachTcHook(ifindex, false, egress_, kTcProgName, ifname);
  }

  void Vouch(uint32_t ifindex, uint64_t until_ns) override {
    // Read, change, write back: the MAC beside it is Dataplane::Open's, and an interface without
    // an entry gets none (a zero MAC would make xdp_lb take every frame as another host's).
    lb_iface v{};
    if (bpf_map_lookup_elem(ifaces_, &ifindex, &v) != 0) return;
    if (v.tc_ingress_until_ns == until_ns) return;
    v.tc_ingress_until_ns = until_ns;
    if (bpf_map_update_elem(ifaces_, &ifindex, &v, BPF_EXIST) != 0)
      throw std::runtime_error("cannot write lb_ifaces[" + std::to_string(ifindex) +
                               "]: " + std::strerror(errno));
  }

  uint64_t NowNs() override { return MonotonicNs(); }

 private:
  int egress_, ingress_, ifaces_;
};

}  // namespace

const char* TcHookName(TcHook h) {
  return h == TcHook::kIngress ? "ingress" : "egress";
}

std::unique_ptr<TcHooks> KernelTcHooks(int egress_prog_fd, int ingress_prog_fd, int ifaces_map_fd) {
  return std::make_unique<Kernel>(egress_prog_fd, ingress_prog_fd, ifaces_map_fd);
}

TcGuard::TcGuard(std::unique_ptr<TcHooks> hooks, std::vector<Interface> interfaces)
    : hooks_(std::move(hooks)) {
  for (auto& i : interfaces) {
    TcInterfaceState s;
    s.name = std::move(i.name);
    s.ifindex = i.ifindex;
    state_.push_back(std::move(s));
  }
}

bool TcGuard::Ensure(TcInterfaceState& s, TcHook hook) {
  const bool ingress = hook == TcHook::kIngress;
  uint64_t& reattached = ingress ? s.reattached_ingress : s.reattached_egress;
  bool& failing = ingress ? s.ingress_failing : s.egress_failing;
  // Named only for a log line: the check runs every second for every hook.
  const auto what = [&] { return s.name + " tc " + TcHookName(hook); };
  try {
    if (!hooks_->Attached(s.ifindex, hook)) {
      hooks_->Attach(s.ifindex, s.name, hook);
      ++reattached;
      log::Warn(kLog, what() + ": ironlb's program was missing (filter removed?); attached again");
    }
  } catch (const std::exception& e) {
    if (!failing) {
      log::Warn(kLog, what() + ": ironlb's program is missing and cannot be attached (" + e.what() +
                          "); retried every second" +
                          (ingress ? ", meanwhile frames XDP would hand to it are dropped "
                                     "(drop_no_tc_ingress)"
                                   : ", meanwhile replies leave untranslated"));
      failing = true;
    }
    return false;
  }
  if (failing) log::Info(kLog, what() + ": ironlb's program is attached again");
  failing = false;
  return true;
}

void TcGuard::Check() {
  for (auto& s : state_) {
    s.egress = Ensure(s, TcHook::kEgress);
    s.ingress = Ensure(s, TcHook::kIngress);
    // The clock is read after the queries: a slow netlink answer must not shorten the vouch.
    const uint64_t now = hooks_->NowNs();
    const uint64_t until =
        s.ingress ? now + std::chrono::duration_cast<std::chrono::nanoseconds>(kVouch).count() : 0;
    try {
      hooks_->Vouch(s.ifindex, until);
      s.vouched_until_ns = until;
      s.vouch_failing = false;
    } catch (const std::exception& e) {
      if (!s.vouch_failing) log::Warn(kLog, s.name + ": " + e.what() + "; retried every second");
      s.vouch_failing = true;
    }
  }
}

nlohmann::json TcGuard::Status() const {
  const uint64_t now = hooks_->NowNs();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : state_) {
    // Negative once lapsed (the agent was held up); 0 when withdrawn or never given.
    const int64_t left_ms =
        s.vouched_until_ns == 0
            ? 0
            : (static_cast<int64_t>(s.vouched_until_ns) - static_cast<int64_t>(now)) / 1'000'000;
    out.push_back(
        {{"name", s.name},
         {"ifindex", s.ifindex},
         {"ingress", s.ingress},
         {"egress", s.egress},
         {"ingress_vouched_ms", left_ms},
         {"ingress_vouched_until_ns", s.vouched_until_ns},
         {"reattached", {{"ingress", s.reattached_ingress}, {"egress", s.reattached_egress}}}});
  }
  return out;
}

}  // namespace ironlb::dataplane
