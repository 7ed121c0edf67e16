// `ironlbctl iface list` as a table: the rows for a document of interfaces, pure so that a unit
// test can pin the wording operators read when frames are dropped as drop_no_tc_ingress.
#pragma once

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ironlbctl {

// "9.4 s left", "lapsed 12.0 s ago", "never" (no vouch was ever written): how long xdp_lb still
// hands frames awaiting a neighbour to tc_lb_ingress on that interface.
inline std::string VouchText(const nlohmann::json& i) {
  if (i.value("ingress_vouched_until_ns", uint64_t{0}) == 0) return "never";
  const int64_t ms = i.value("ingress_vouched_ms", int64_t{0});
  char buf[48];
  if (ms > 0)
    std::snprintf(buf, sizeof buf, "%.1f s left", static_cast<double>(ms) / 1000);
  else
    std::snprintf(buf, sizeof buf, "lapsed %.1f s ago", static_cast<double>(-ms) / 1000);
  return buf;
}

// `doc`: [{interface, ifindex, mac, xdp, tc: {ingress, egress}, ingress_vouched_until_ns,
// ingress_vouched_ms}] as `iface list -j` prints it.
inline std::vector<std::vector<std::string>> IfaceRows(const nlohmann::json& doc) {
  auto yes = [](bool b) { return std::string(b ? "yes" : "NO"); };
  std::vector<std::vector<std::string>> rows{
      {"INTERFACE", "IFINDEX", "MAC", "XDP", "TC INGRESS", "TC EGRESS", "HAND-OFF TO TC"}};
  for (const auto& i : doc) {
    const auto& tc = i["tc"];
    rows.push_back({i.value("interface", std::string("?")),
                    std::to_string(i.value("ifindex", uint32_t{0})), i.value("mac", std::string()),
                    yes(i.value("xdp", false)), yes(tc.value("ingress", false)),
                    yes(tc.value("egress", false)), VouchText(i)});
  }
  return rows;
}

}  // namespace ironlbctl
