// ironlbctl backend list: endpoints the data plane can send to, from the pinned maps.
#include "command.h"
#include "dataplane/map_dump.h"

namespace ironlbctl {
namespace {

int BackendList(const Context& ctx, const std::vector<std::string>&) {
  ironlb::dataplane::PinnedMaps maps(ctx.bpffs);
  const auto doc = ironlb::dataplane::DumpBackends(maps.ops());
  Emit(ctx, doc, [&] {
    std::vector<std::vector<std::string>> rows = {
        {"ID", "BACKEND", "ACTION", "STATE", "PACKETS", "BYTES"}};
    for (const auto& b : doc)
      rows.push_back({std::to_string(b["id"].get<uint32_t>()), b["backend"],
                      b.contains("node") ? "encap to " + b["node"].get<std::string>()
                                         : b["action"].get<std::string>(),
                      b["draining"].get<bool>() ? "draining" : "active",
                      std::to_string(b["stats"]["packets"].get<uint64_t>()),
                      std::to_string(b["stats"]["bytes"].get<uint64_t>())});
    PrintTable(rows);
  });
  return 0;
}

IRONLBCTL_REGISTER(Command{"backend", "list", "", "endpoints in the XDP maps", BackendList});

}  // namespace
}  // namespace ironlbctl
