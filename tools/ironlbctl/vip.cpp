// ironlbctl vip list: the VIP:port/proto entries programmed in the data plane, from the pinned
// maps (works while the agent is down).
#include "command.h"
#include "dataplane/map_dump.h"

namespace ironlbctl {
namespace {

int VipList(const Context& ctx, const std::vector<std::string>&) {
  ironlb::dataplane::PinnedMaps maps(ctx.bpffs);
  const auto doc = ironlb::dataplane::DumpServices(maps.ops());
  Emit(ctx, doc, [&] {
    std::vector<std::vector<std::string>> rows = {
        {"SERVICE", "ID", "BACKENDS", "MAGLEV", "PACKETS", "BYTES"}};
    for (const auto& s : doc)
      rows.push_back({s["service"], std::to_string(s["id"].get<uint32_t>()),
                      std::to_string(s["backends"].get<uint32_t>()),
                      std::to_string(s["maglev_size"].get<uint32_t>()),
                      std::to_string(s["stats"]["packets"].get<uint64_t>()),
                      std::to_string(s["stats"]["bytes"].get<uint64_t>())});
    PrintTable(rows);
  });
  return 0;
}

IRONLBCTL_REGISTER(Command{"vip", "list", "", "VIP:port/proto entries in the XDP maps", VipList});

}  // namespace
}  // namespace ironlbctl
