// `ironlbctl bgp show`: the BGP sessions of this node's speaker (state, uptime, prefixes sent,
// last error), read from the agent's local API.
#include <iostream>

#include "command.h"

namespace ironlbctl {
namespace {

std::string Uptime(int64_t s) {
  if (s <= 0) return "-";
  const int64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
  char buf[48];
  if (d > 0)
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(d),
                  static_cast<long long>(h));
  else
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(h),
                  static_cast<long long>(m), static_cast<long long>(sec));
  return buf;
}

int BgpShow(const Context& ctx, const std::vector<std::string>& args) {
  auto doc = ApiGet(ctx, "/v1/bgp");
  if (!args.empty()) {
    nlohmann::json kept = nlohmann::json::array();
    for (const auto& s : doc["sessions"])
      if (s.value("name", "") == args[0] || s.value("peer_address", "") == args[0])
        kept.push_back(s);
    doc["sessions"] = kept;
  }
  Emit(ctx, doc, [&] {
    std::vector<std::vector<std::string>> rows{
        {"PEER", "ADDRESS", "AS", "STATE", "UPTIME", "PREFIXES", "BFD", "LAST ERROR"}};
    for (const auto& s : doc["sessions"]) {
      std::string addr = s.value("peer_address", "");
      if (s.value("peer_port", 179) != 179) addr += ":" + std::to_string(s.value("peer_port", 179));
      std::string err = s.value("last_error", "");
      // BFD: its state and the detection time in force (how fast a failure is noticed).
      std::string bfd = "-";
      if (s.contains("bfd")) {
        const auto& b = s["bfd"];
        bfd = b.value("state", "?");
        if (b.value("detection_time_ms", 0) > 0)
          bfd += " " + std::to_string(b.value("detection_time_ms", 0)) + "ms";
      }
      rows.push_back({s.value("name", ""), addr, std::to_string(s.value("peer_asn", 0)),
                      s.value("state", ""), Uptime(s.value("uptime_s", int64_t{0})),
                      std::to_string(s.value("prefixes_sent", 0)) + "/" +
                          std::to_string(s.value("prefixes_desired", 0)),
                      bfd, err.empty() ? "-" : err});
    }
    PrintTable(rows);
    if (doc.contains("listen_error"))
      std::cout << "\npassive sessions unavailable: " << doc["listen_error"].get<std::string>()
                << "\n";
  });
  return 0;
}

IRONLBCTL_REGISTER(Command{"bgp", "show", "[PEER]",
                           "BGP sessions: state, uptime, prefixes sent/desired, BFD, last error",
                           BgpShow});

}  // namespace
}  // namespace ironlbctl
