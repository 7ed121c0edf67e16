// `ironlbctl alloc show` and `ironlbctl config show`: what the controller assigned, and whether
// the configuration is valid — both read from the agent's local API.
#include <iostream>

#include "command.h"

namespace ironlbctl {
namespace {

int AllocShow(const Context& ctx, const std::vector<std::string>& args) {
  auto doc = ApiGet(ctx, "/v1/alloc");
  // Optional filter: a namespace or namespace/name.
  if (!args.empty()) {
    nlohmann::json kept = nlohmann::json::array();
    for (const auto& s : doc) {
      const std::string ns = s["service"]["namespace"], name = s["service"]["name"];
      if (args[0] == ns || args[0] == ns + "/" + name) kept.push_back(s);
    }
    doc = kept;
  }
  Emit(ctx, doc, [&] {
    std::vector<std::vector<std::string>> rows{{"SERVICE", "POOL", "IPS", "STATUS"}};
    for (const auto& s : doc) {
      std::string ips;
      for (const auto& i : s["ingress"]) ips += (ips.empty() ? "" : ",") + i["ip"].get<std::string>();
      std::string status = s.value("error", "");
      if (status.empty()) status = "assigned";
      else if (ips.empty()) status = "pending: " + status;
      rows.push_back({s["service"]["namespace"].get<std::string>() + "/" +
                          s["service"]["name"].get<std::string>(),
                      s.value("pool", "") == "" ? "-" : s.value("pool", ""),
                      ips.empty() ? "-" : ips, status});
    }
    PrintTable(rows);
  });
  return 0;
}

int ConfigShow(const Context& ctx, const std::vector<std::string>&) {
  auto doc = ApiGet(ctx, "/v1/config");
  Emit(ctx, doc, [&] {
    std::cout << "configuration: " << (doc["valid"].get<bool>() ? "valid" : "INVALID") << "\n";
    std::cout << "pools: ";
    for (const auto& p : doc["pools"]) std::cout << p.get<std::string>() << " ";
    std::cout << "\npeers: " << doc["peers"] << "  l2 advertisements: " << doc["l2Advertisements"]
              << "  bgp advertisements: " << doc["bgpAdvertisements"] << "\n";
    if (!doc["errors"].empty()) {
      std::cout << "\nerrors in force (the last valid version of each object stays in use):\n";
      for (const auto& e : doc["errors"]) {
        std::string where = e.value("file", "");
        std::cout << "  " << (where.empty() ? "" : where + ": ") << e.value("object", "") << ": "
                  << (e.value("field", "").empty() ? "" : e.value("field", "") + ": ")
                  << e.value("message", "") << "\n";
      }
    }
  });
  // Non-zero exit when invalid so scripts can gate on it.
  return doc["valid"].get<bool>() ? 0 : 3;
}

IRONLBCTL_REGISTER(Command{"alloc", "show", "[NAMESPACE[/NAME]]",
                           "addresses the controller assigned to Services", AllocShow});
IRONLBCTL_REGISTER(Command{"config", "show", "", "configuration state and the errors in force",
                           ConfigShow});

}  // namespace
}  // namespace ironlbctl
