// ironlbctl maglev show VIP:PORT/PROTO: one service's Maglev table as the XDP program sees it
// (share of entries per endpoint; -j adds every entry).
#include <cstdio>
#include <iostream>

#include "command.h"
#include "dataplane/map_dump.h"

namespace ironlbctl {
namespace {

int MaglevShow(const Context& ctx, const std::vector<std::string>& args) {
  if (args.size() != 1) throw UsageError("maglev show takes one VIP:PORT/PROTO");
  ironlb::dataplane::PinnedMaps maps(ctx.bpffs);
  const auto doc = ironlb::dataplane::DumpMaglev(maps.ops(), args[0]);
  Emit(ctx, doc, [&] {
    std::cout << doc["service"].get<std::string>() << ": " << doc["size"].get<uint32_t>()
              << " entries\n";
    std::vector<std::vector<std::string>> rows = {{"ID", "BACKEND", "ENTRIES", "SHARE"}};
    for (const auto& b : doc["backends"]) {
      char share[16];
      std::snprintf(share, sizeof(share), "%.1f%%", 100.0 * b["share"].get<double>());
      rows.push_back({std::to_string(b["id"].get<uint32_t>()), b["backend"],
                      std::to_string(b["entries"].get<uint32_t>()), share});
    }
    PrintTable(rows);
  });
  return 0;
}

IRONLBCTL_REGISTER(Command{"maglev", "show", "VIP:PORT/PROTO",
                           "a service's Maglev table in the XDP maps", MaglevShow});

}  // namespace
}  // namespace ironlbctl
