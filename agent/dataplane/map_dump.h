// Reads ironlb's maps into JSON for people and tools (ironlbctl vip/backend/maglev/conntrack/
// stats, the agent's metrics): through MapOps, so from the pins alone (PinnedMaps::ops()), with
// or without a running agent, and in tests from an in-memory fake.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "dataplane/map_ops.h"

namespace ironlb::dataplane {

nlohmann::json DumpServices(const MapOps& ops);
nlohmann::json DumpBackends(const MapOps& ops);
// `service` is "VIP:PORT/PROTO" ("[v6]:PORT/PROTO" for IPv6); throws std::invalid_argument
// when malformed and std::runtime_error when no such service is programmed.
nlohmann::json DumpMaglev(const MapOps& ops, const std::string& service);
nlohmann::json DumpConntrack(const MapOps& ops, size_t limit);
// Where the XDP program sends the flow from `client` ("ADDR:PORT", "[v6]:PORT") to `service`
// ("VIP:PORT/PROTO") and why: its conntrack entry, or the Maglev slot the flow hash picks (the
// data plane's own hash, bpf/flow_hash.h). Reads only; creates no conntrack entry.
nlohmann::json ExplainFlow(const MapOps& ops, const std::string& service,
                           const std::string& client);
nlohmann::json DumpStats(const MapOps& ops);
// The interfaces xdp_lb runs on (lb_ifaces), by ifindex: [{ifindex, mac, ingress_vouched_until_ns
// (the agent's tc_lb_ingress vouch, CLOCK_MONOTONIC; 0: none)}].
nlohmann::json DumpIfaces(const MapOps& ops);

struct Occupancy {
  uint64_t entries = 0;
  uint64_t capacity = 0;
};
// How full the conntrack LRU is (read in batches by BpfMapOps: a few dozen syscalls when full).
Occupancy ConntrackOccupancy(const MapOps& ops);

}  // namespace ironlb::dataplane
