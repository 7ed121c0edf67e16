// ironlbctl explain VIP:PORT/PROTO CLIENT:PORT: which endpoint this node sends that flow to and
// why (its conntrack entry, or the Maglev slot its hash picks, computed by the data plane's own
// hash over the pinned maps), which node answers ARP/NDP for the VIP on Layer 2 and which BGP
// peers it is announced to (both from the agent's own speakers, not recomputed here).
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

// The L2 speaker's own election result for the VIP (its Status), so explain and the node that
// answers ARP can never disagree.
json Layer2(const Context& ctx, const ironlb::IPAddr& vip) {
  json l2;
  try {
    l2 = ApiGet(ctx, "/v1/l2");
  } catch (const std::exception& e) {
    return {{"available", false}, {"reason", e.what()}};
  }
  for (const auto& v : l2.value("vips", json::array())) {
    const auto ip = ironlb::IPAddr::Parse(v.value("vip", ""));
    if (!ip || *ip != vip) continue;
    json out{{"available", true},
             {"advertised", true},
             {"owner", v.value("owner", "")},
             {"this_node", l2.value("node", "")},
             {"mine", v.value("mine", false)},
             {"interfaces", v.value("interfaces", json::array())},
             {"eligible", v.value("eligible", json::array())},
             {"since", v.value("since", "")},
             {"cause", v.value("cause", "")}};
    if (v.contains("previous")) out["previous"] = v["previous"];
    return out;
  }
  return {{"available", true}, {"advertised", false}, {"this_node", l2.value("node", "")}};
}

int Explain(const Context& ctx, const std::vector<std::string>& args) {
  if (args.size() != 2) throw UsageError("explain takes VIP:PORT/PROTO and CLIENT:PORT");
  ironlb::dataplane::PinnedMaps maps(ctx.bpffs);
  json doc = ironlb::dataplane::ExplainFlow(maps.ops(), args[0], args[1]);
  const std::string host = args[0].substr(0, args[0].rfind(':', args[0].rfind('/')));
  const auto vip = ironlb::IPAddr::Parse(
      host.size() > 2 && host.front() == '[' ? host.substr(1, host.size() - 2) : host);
  if (vip) {
    doc["l2"] = Layer2(ctx, *vip);
    doc["bgp"] = Announcements(ctx, *vip);
  }
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
    const auto& l2 = doc.value("l2", json::object());
    if (!l2.value("available", false)) {
      std::cout << "layer2    unknown (" << l2.value("reason", "agent not reachable") << ")\n";
    } else if (!l2.value("advertised", false)) {
      std::cout << "layer2    not advertised (no L2Advertisement covers the VIP)\n";
    } else if (l2.value("owner", "").empty()) {
      std::cout << "layer2    no owner: no healthy eligible node\n";
    } else {
      std::cout << "layer2    owner " << l2["owner"].get<std::string>()
                << (l2.value("mine", false) ? " (this node, answers ARP/NDP" : " (not this node")
                << "), since " << l2.value("since", "") << ": " << l2.value("cause", "") << "\n";
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
    "    With the agent running it also names the node that owns the VIP on Layer 2 (the L2\n"
    "    speaker's own election, as `l2 show`) and the BGP peers the VIP is announced to.\n"
    "    Exit status 3 when the flow would be dropped (no endpoint).\n"
    "    -j: {service, client, decision: conntrack|maglev|drop, backend: {id, address}, why,\n"
    "    conntrack: {backend_id, age_s, idle_s} | null, maglev: {hash, table_size, base, index,\n"
    "    slot, backend}, l2: {available, advertised, owner, this_node, mine, interfaces,\n"
    "    eligible, since, cause, previous?}, bgp: {available, peers: [{peer, prefix, "
    "session}]}}.\n"});

}  // namespace
}  // namespace ironlbctl
