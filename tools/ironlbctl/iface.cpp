// `ironlbctl iface list`: the interfaces xdp_lb runs on, whether ironlb's tc programs are attached
// there now, and until when the agent vouches for tc_lb_ingress (xdp_lb hands frames awaiting a
// neighbour to it only then; otherwise drop_no_tc_ingress). From the pins and the kernel, so it
// also answers while the agent is stopped.
#include <net/if.h>


#include "command.h"
#include "dataplane/attach.h"
#include "dataplane/map_dump.h"
#include "iface_table.h"
#include "runtime/monotonic.h"

namespace ironlbctl {
namespace {

using namespace ironlb::dataplane;

int IfaceList(const Context& ctx, const std::vector<std::string>& args) {
  if (!args.empty()) throw UsageError("no arguments expected");
  const PinnedMaps maps(ctx.bpffs);
  nlohmann::json doc = DumpIfaces(maps.ops());
  const auto now = static_cast<int64_t>(ironlb::MonotonicNs());
  for (auto& i : doc) {
    const uint32_t ifindex = i["ifindex"];
    char name[IF_NAMESIZE] = {};
    i["interface"] = if_indextoname(ifindex, name) ? std::string(name) : "(gone)";
    i["xdp"] = XdpAttached(ifindex);
    i["tc"] = {{"ingress", TcAttached(ifindex, true, kTcIngressProgName)},
               {"egress", TcAttached(ifindex, false, kTcProgName)}};
    const auto until = i["ingress_vouched_until_ns"].get<uint64_t>();
    // Negative: lapsed that long ago.
    i["ingress_vouched_ms"] = until ? (static_cast<int64_t>(until) - now) / 1'000'000 : 0;
  }
  Emit(ctx, doc, [&] { PrintTable(IfaceRows(doc)); });
  return kExitOk;
}

IRONLBCTL_REGISTER(Command{
    "iface", "list", "",
    "interfaces xdp_lb runs on: XDP and tc programs attached, tc hand-off vouch", IfaceList,
    "    HAND-OFF TO TC: how long xdp_lb still hands encapsulated frames whose next hop is\n"
    "    unresolved to tc_lb_ingress on that interface. The agent checks the tc hooks every\n"
    "    second, attaches a missing program again and renews this for 10 s. \"lapsed\" or\n"
    "    \"never\": such frames are dropped and counted as drop_no_tc_ingress (is the agent\n"
    "    running? see docs/operations.md).\n"});

}  // namespace
}  // namespace ironlbctl
