// ironlbctl explain VIP:PORT/PROTO CLIENT:PORT: which endpoint this node sends that flow to and
// why (its conntrack entry, or the Maglev slot its hash picks, computed by the data plane's own
// hash over the pinned maps), and which BGP peers the VIP is announced to (from the agent).
#include <cstdio>
#include <iostream>

#include "command.h"
#include "dataplane/map_dump.h"
#include "model/ip.h"

namespace ironlbctl {
namespace {

using nlohmann::json;

// The BGP side needs the agent; without it the data-plane answer still stands.
json Announcements(const Context& ctx, const ironlb::IPAddr& vip) {
  json bgp;
  try {
    bgp = ApiGet(ctx, "/v1/bgp");
  } catch (const std::exception& e) {
    return {{"available", false}, {"reason", e.what()}};
  }
  std::map<std::string, std::string> state;
  const json sessions = bgp.value("sessions", json::array());
  for (const auto& s : sessions) state[s.value("name", "")] = s.value("state", "");
  const json announcements = bgp.value("announcements", json::object());
  json peers = json::array();
  for (const auto& [peer, prefixes] : announcements.items())
    for (const auto& p : prefixes) {
      const auto prefix = ironlb::IPPrefix::Parse(p.get<std::string>());
      if (prefix && prefix->contains(vip)) {
        peers.push_back(
            {{"peer", peer}, {"prefix", p}, {"session", state.count(peer) ? state[peer] : ""}});
        break;
      }
    }
  return {{"available", true}, {"peers", peers}};
}

int Explain(const Context& ctx, const std::vector<std::string>& args) {
  if (args.size() != 2) throw UsageError("explain takes VIP:PORT/PROTO and CLIENT:PORT");
  ironlb::dataplane::PinnedMaps maps(ctx.bpffs);
  json doc = ironlb::dataplane::ExplainFlow(maps, args[0], args[1]);
  const std::string host = args[0].substr(0, args[0].rfind(':', args[0].rfind('/')));
  const auto vip = ironlb::IPAddr::Parse(
      host.size() > 2 && host.front() == '[' ? host.substr(1, host.size() - 2) : host);
  if (vip) doc["bgp"] = Announcements(ctx, *vip);
  Emit(ctx, doc, [&] {
    std::cout << "flow      " << args[1] << " -> " << args[0] << "\n";
    const auto& b = doc["backend"];
    std::cout << "endpoint  "
              << (b.is_null() ? "none: dropped"
                              : b["address"].get<std::string>() + " (id " +
                                    std::to_string(b["id"].get<uint32_t>()) + ")")
              << "\n";
    std::cout << "why       " << doc["why"].get<std::string>() << "\n";
    if (!doc["conntrack"].is_null()) {
      const auto& c = doc["conntrack"];
      std::cout << "conntrack entry: endpoint id " << c["backend_id"] << ", age " << c["age_s"]
                << " s, idle " << c["idle_s"] << " s\n";
    } else {
      std::cout << "conntrack no entry (the first packet creates one)\n";
    }
    const auto& m = doc["maglev"];
    if (m.contains("index")) {
      char hash[16];
      std::snprintf(hash, sizeof hash, "0x%08x", m["hash"].get<uint32_t>());
      std::cout << "maglev    hash " << hash << ", entry " << m["index"] << " of "
                << m["table_size"] << " -> "
                << (m["backend"].is_null() ? "none" : m["backend"]["address"].get<std::string>())
                << "\n";
    }
    const auto& bgp = doc.value("bgp", json::object());
    if (!bgp.value("available", false)) {
      std::cout << "bgp       unknown (" << bgp.value("reason", "agent not reachable") << ")\n";
    } else if (bgp["peers"].empty()) {
      std::cout << "bgp       not announced by this node\n";
    } else {
      std::cout << "bgp       announced to";
      for (const auto& p : bgp["peers"])
        std::cout << " " << p["peer"].get<std::string>() << " ("
                  << (p["session"].get<std::string>().empty() ? "?"
                                                              : p["session"].get<std::string>())
                  << ")";
      std::cout << "\n";
    }
  });
  return doc["backend"].is_null() ? kExitNotOk : kExitOk;
}

IRONLBCTL_REGISTER(Command{
    "explain", "", "VIP:PORT/PROTO CLIENT:PORT",
    "where this node sends a flow, and why (conntrack or Maglev)", Explain,
    "    Follows the XDP program's own decision for the flow from CLIENT:PORT to the service:\n"
    "    a live conntrack entry whose endpoint still exists wins; otherwise the flow hash (the\n"
    "    data plane's bpf/flow_hash.h, compiled into ironlbctl) picks an entry of the service's\n"
    "    Maglev table, the same on every node. Reads the pinned maps only: nothing is created.\n"
    "    With the agent running it also names the BGP peers the VIP is announced to.\n"
    "    Exit status 3 when the flow would be dropped (no endpoint).\n"
    "    -j: {service, client, decision: conntrack|maglev|drop, backend: {id, address}, why,\n"
    "    conntrack: {backend_id, age_s, idle_s} | null, maglev: {hash, table_size, base, index,\n"
    "    slot, backend}, bgp: {available, peers: [{peer, prefix, session}]}}.\n"});

}  // namespace
}  // namespace ironlbctl
