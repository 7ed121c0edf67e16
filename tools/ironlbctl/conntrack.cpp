// ironlbctl conntrack list [LIMIT]: flows the XDP program remembers (client -> VIP -> endpoint).
#include <iostream>

#include "command.h"
#include "dataplane/map_dump.h"

namespace ironlbctl {
namespace {

constexpr size_t kDefaultLimit = 1000;

int ConntrackList(const Context& ctx, const std::vector<std::string>& args) {
  size_t limit = kDefaultLimit;
  if (!args.empty()) {
    try {
      limit = std::stoul(args[0]);
    } catch (const std::exception&) {
      std::cerr << "usage: ironlbctl conntrack list [LIMIT]\n";
      return 2;
    }
  }
  ironlb::dataplane::PinnedMaps maps(ctx.bpffs);
  const auto doc = ironlb::dataplane::DumpConntrack(maps, limit);
  Emit(ctx, doc, [&] {
    std::vector<std::vector<std::string>> rows = {
        {"PROTO", "CLIENT", "VIP", "BACKEND", "AGE(s)", "IDLE(s)"}};
    for (const auto& c : doc)
      rows.push_back({c["protocol"], c["client"], c["vip"], c["backend"],
                      std::to_string(c["age_s"].get<uint64_t>()),
                      std::to_string(c["idle_s"].get<uint64_t>())});
    PrintTable(rows);
  });
  return 0;
}

IRONLBCTL_REGISTER(Command{"conntrack", "list", "[LIMIT]", "flows in the XDP conntrack LRU",
                           ConntrackList});

}  // namespace
}  // namespace ironlbctl
