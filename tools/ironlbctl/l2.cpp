// `ironlbctl l2 show`: each L2-announced VIP with its owner, the interfaces this node answers on,
// since when, the last move and its cause, ARP conflicts seen; then the peers this node hears. From
// the agent's local API (the speaker's own view: every node computes the same owners).
#include <iostream>

#include "command.h"

namespace ironlbctl {
namespace {

std::string Join(const nlohmann::json& a, const std::string& none) {
  std::string s;
  for (const auto& x : a) s += (s.empty() ? "" : ",") + x.get<std::string>();
  return s.empty() ? none : s;
}

int L2Show(const Context& ctx, const std::vector<std::string>& args) {
  auto doc = ApiGet(ctx, "/v1/l2");
  if (!args.empty()) {
    nlohmann::json kept = nlohmann::json::array();
    for (const auto& v : doc["vips"])
      if (v.value("vip", "") == args[0]) kept.push_back(v);
    doc["vips"] = kept;
  }
  Emit(ctx, doc, [&] {
    std::vector<std::vector<std::string>> rows{
        {"VIP", "OWNER", "INTERFACES", "SINCE", "LAST MOVE", "CAUSE", "CONFLICTS", "SERVICES"}};
    for (const auto& v : doc["vips"]) {
      std::string owner = v.value("owner", "");
      if (owner.empty()) owner = "(none)";
      if (v.value("mine", false)) owner += " (this node)";
      std::string move = "-";
      if (v.contains("previous")) {
        const std::string prev = v.value("previous", "");
        move = (prev.empty() ? "(none)" : prev) + " -> " +
               (v.value("owner", "").empty() ? "(none)" : v.value("owner", ""));
      }
      rows.push_back({v.value("vip", ""), owner, Join(v["interfaces"], "all"), v.value("since", ""),
                      move, v.value("cause", ""), std::to_string(v.value("conflicts", uint64_t{0})),
                      Join(v["services"], "-")});
    }
    PrintTable(rows);
    const auto& hb = doc["heartbeats"];
    std::cout << "\nnode " << doc.value("node", "") << ", "
              << (doc.value("available", false) ? "available" : "NOT available (no carrier)");
    if (hb.value("enabled", false))
      std::cout << "; heartbeats every " << hb.value("interval_ms", 0) << " ms on UDP "
                << hb.value("port", 0) << ", dead after " << hb.value("detection_ms", 0)
                << " ms, fenced after " << hb.value("fence_ms", 0) << " ms\n";
    else
      std::cout << "; no heartbeats (no --l2-key-file): no failover\n";
    if (!doc["peers"].empty()) {
      std::vector<std::vector<std::string>> peers{{"PEER", "ADDRESSES", "HEALTHY"}};
      for (const auto& p : doc["peers"])
        peers.push_back({p.value("name", ""), Join(p["addresses"], "-"),
                         p.value("healthy", false) ? "yes" : "no"});
      std::cout << "\n";
      PrintTable(peers);
    }
  });
  return 0;
}

IRONLBCTL_REGISTER(Command{"l2", "show", "[VIP]",
                           "L2 owners: owner, interfaces, since, last move and its cause; peers",
                           L2Show});

}  // namespace
}  // namespace ironlbctl
