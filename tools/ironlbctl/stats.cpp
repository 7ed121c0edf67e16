// ironlbctl stats: the data plane's per-CPU counters summed: per reason (drops, replies,
// forwards), per VIP and per endpoint.
#include <iostream>

#include "command.h"
#include "dataplane/map_dump.h"

namespace ironlbctl {
namespace {

int Stats(const Context& ctx, const std::vector<std::string>&) {
  ironlb::dataplane::PinnedMaps maps(ctx.bpffs);
  const auto doc = ironlb::dataplane::DumpStats(maps);
  Emit(ctx, doc, [&] {
    std::vector<std::vector<std::string>> rows = {{"COUNTER", "PACKETS", "BYTES"}};
    for (const auto& [name, c] : doc["reasons"].items())
      rows.push_back({name, std::to_string(c["packets"].get<uint64_t>()),
                      std::to_string(c["bytes"].get<uint64_t>())});
    for (const auto& v : doc["vips"])
      rows.push_back({"vip " + v["service"].get<std::string>(),
                      std::to_string(v["stats"]["packets"].get<uint64_t>()),
                      std::to_string(v["stats"]["bytes"].get<uint64_t>())});
    for (const auto& b : doc["backends"])
      rows.push_back({"backend " + b["backend"].get<std::string>(),
                      std::to_string(b["stats"]["packets"].get<uint64_t>()),
                      std::to_string(b["stats"]["bytes"].get<uint64_t>())});
    PrintTable(rows);
  });
  return 0;
}

// The verb is empty: `ironlbctl stats` alone.
IRONLBCTL_REGISTER(Command{"stats", "", "", "data plane counters (reasons, VIPs, endpoints)",
                           Stats});

}  // namespace
}  // namespace ironlbctl
