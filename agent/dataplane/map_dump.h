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
nlohmann::json DumpStats(const PinnedMaps& maps);

}  // namespace ironlb::dataplane
