// ironlbctl conntrack list [vip A[:P]] [backend A[:P]] [client A[:P]] [proto tcp|udp] [limit N]:
// flows the XDP program remembers (client -> VIP -> endpoint), filtered as bpftool filters maps.
#include <cstdint>
#include <iostream>
#include <limits>
#include <optional>

#include "command.h"
#include "dataplane/map_dump.h"
#include "model/ip.h"
#include "model/model.h"

namespace ironlbctl {
namespace {

constexpr size_t kDefaultLimit = 1000;

// "ADDR" matches any port of that address, "ADDR:PORT" / "[v6]:PORT" exactly that endpoint.
struct Match {
  std::string field;  // the entry's key: "vip", "backend", "client"
  ironlb::IPAddr addr;
  std::optional<uint16_t> port;

  bool operator()(const nlohmann::json& entry) const {
    const std::string hp = entry.value(field, "");
    const auto parsed = ironlb::ParseHostPort(hp);
    if (!parsed) return false;
    const auto a = ironlb::IPAddr::Parse(parsed->host);
    return a && *a == addr && (!port || *port == parsed->port);
  }
};

Match ParseMatch(const std::string& field, const std::string& v) {
  if (auto a = ironlb::IPAddr::Parse(v)) return {field, *a, std::nullopt};
  if (auto hp = ironlb::ParseHostPort(v))
    if (auto a = ironlb::IPAddr::Parse(hp->host)) return {field, *a, hp->port};
  throw UsageError(field + " wants ADDR or ADDR:PORT ([v6]:PORT), not '" + v + "'");
}

int ConntrackList(const Context& ctx, const std::vector<std::string>& args) {
  size_t limit = kDefaultLimit;
  std::vector<Match> matches;
  std::string proto;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& k = args[i];
    if (i == 0 && args.size() == 1 && !k.empty() &&
        k.find_first_not_of("0123456789") == std::string::npos) {
      limit = std::stoul(k);  // the older form: conntrack list LIMIT
      continue;
    }
    if (i + 1 >= args.size()) throw UsageError(k + " needs a value");
    const std::string& v = args[++i];
    if (k == "vip" || k == "backend" || k == "client") {
      matches.push_back(ParseMatch(k, v));
    } else if (k == "proto") {
      proto = v == "tcp" || v == "TCP" ? "TCP" : v == "udp" || v == "UDP" ? "UDP" : "";
      if (proto.empty()) throw UsageError("proto is tcp or udp, not '" + v + "'");
    } else if (k == "limit") {
      if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos)
        throw UsageError("limit wants a number, not '" + v + "'");
      limit = std::stoul(v);
    } else {
      throw UsageError("unknown filter '" + k + "'");
    }
  }
  ironlb::dataplane::PinnedMaps maps(ctx.bpffs);
  const bool filtered = !matches.empty() || !proto.empty();
  const auto all =
      ironlb::dataplane::DumpConntrack(maps.ops(), filtered ? std::numeric_limits<size_t>::max() : limit);
  nlohmann::json doc = nlohmann::json::array();
  for (const auto& c : all) {
    if (doc.size() >= limit) break;
    if (!proto.empty() && c.value("protocol", "") != proto) continue;
    bool ok = true;
    for (const auto& m : matches) ok = ok && m(c);
    if (ok) doc.push_back(c);
  }
  Emit(ctx, doc, [&] {
    std::vector<std::vector<std::string>> rows = {
        {"PROTO", "CLIENT", "VIP", "BACKEND", "AGE(s)", "IDLE(s)"}};
    for (const auto& c : doc)
      rows.push_back({c["protocol"], c["client"], c["vip"], c["backend"],
                      std::to_string(c["age_s"].get<uint64_t>()),
                      std::to_string(c["idle_s"].get<uint64_t>())});
    PrintTable(rows);
  });
  return kExitOk;
}

IRONLBCTL_REGISTER(Command{
    "conntrack", "list", "[vip A[:P]] [backend A[:P]] [client A[:P]] [proto tcp|udp] [limit N]",
    "flows in the XDP conntrack LRU", ConntrackList,
    "    Flows the XDP program remembers, read from the pinned LRU (agent up or down). Filters\n"
    "    combine (all must match); an address alone matches any port. At most `limit` flows\n"
    "    (default 1000) are printed. -j: an array of {client, vip, protocol, backend,\n"
    "    backend_id, age_s, idle_s}.\n"});

}  // namespace
}  // namespace ironlbctl
