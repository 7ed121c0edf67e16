// Reads ironlb's pinned maps into JSON for people and tools (ironlbctl vip/backend/maglev/
// conntrack/stats): works from the pins alone, with or without a running agent.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "dataplane/map_ops.h"

namespace ironlb::dataplane {

nlohmann::json DumpServices(const PinnedMaps& maps);
nlohmann::json DumpBackends(const PinnedMaps& maps);
// `service` is "VIP:PORT/PROTO" ("[v6]:PORT/PROTO" for IPv6); throws std::invalid_argument
// when malformed and std::runtime_error when no such service is programmed.
nlohmann::json DumpMaglev(const PinnedMaps& maps, const std::string& service);
nlohmann::json DumpConntrack(const PinnedMaps& maps, size_t limit);
// Where the XDP program sends the flow from `client` ("ADDR:PORT", "[v6]:PORT") to `service`
// ("VIP:PORT/PROTO") and why: its conntrack entry, or the Maglev slot the flow hash picks (the
// data plane's own hash, bpf/flow_hash.h). Reads only; creates no conntrack entry.
nlohmann::json ExplainFlow(const PinnedMaps& maps, const std::string& service,
                           const std::string& client);
nlohmann::json DumpStats(const PinnedMaps& maps);

struct Occupancy {
  uint64_t entries = 0;
  uint64_t capacity = 0;
};
// How full the conntrack LRU is (read in batches: a few dozen syscalls for a full table).
Occupancy ConntrackOccupancy(const PinnedMaps& maps);

}  // namespace ironlb::dataplane
