// ironlbctl stats [--watch [SECONDS]] [--count N]: the data plane's per-CPU counters summed: per
// reason (drops, replies, forwards), per VIP and per endpoint; --watch prints rates per second.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <thread>

#include "command.h"
#include "dataplane/map_dump.h"

namespace ironlbctl {
namespace {

using nlohmann::json;

void PrintTotals(const json& doc) {
  std::vector<std::vector<std::string>> rows = {{"COUNTER", "PACKETS", "BYTES"}};
  for (const auto& [name, c] : doc["reasons"].items())
    rows.push_back({name, std::to_string(c["packets"].get<uint64_t>()),
                    std::to_string(c["bytes"].get<uint64_t>())});
  for (const auto& v : doc["vips"])
    rows.push_back({"vip " + v["service"].get<std::string>(),
                    std::to_string(v["stats"]["packets"].get<uint64_t>()),
                    std::to_string(v["stats"]["bytes"].get<uint64_t>())});
  for (const auto& b : doc["backends"])
    rows.push_back({"backend " + b["backend"].get<std::string>(),
                    std::to_string(b["stats"]["packets"].get<uint64_t>()),
                    std::to_string(b["stats"]["bytes"].get<uint64_t>())});
  PrintTable(rows);
}

// Per-second rates between two reads; a counter that went down (maps recreated) counts from 0.
json Rate(const json& before, const json& after, double seconds) {
  auto rate = [seconds](const json& a, const json& b) {
    auto d = [&](const char* f) {
      const uint64_t x = a.value(f, uint64_t{0}), y = b[f].get<uint64_t>();
      return static_cast<double>(y >= x ? y - x : y) / seconds;
    };
    return json{{"packets_per_s", d("packets")}, {"bytes_per_s", d("bytes")}};
  };
  json out = {{"interval_s", seconds},
              {"reasons", json::object()},
              {"vips", json::array()},
              {"backends", json::array()}};
  for (const auto& [name, c] : after["reasons"].items())
    out["reasons"][name] = rate(before["reasons"].value(name, json::object()), c);
  auto keyed = [&](const char* list, const char* key) {
    std::map<std::string, json> old;
    for (const auto& e : before[list]) old[e[key]] = e["stats"];
    for (const auto& e : after[list])
      out[list].push_back(
          {{key, e[key]},
           {"rate", rate(old.count(e[key]) ? old[e[key]] : json::object(), e["stats"])}});
  };
  keyed("vips", "service");
  keyed("backends", "backend");
  return out;
}

void PrintRates(const json& r) {
  const std::time_t t = std::time(nullptr);
  char ts[16];
  std::strftime(ts, sizeof ts, "%H:%M:%S", std::localtime(&t));
  std::printf("--- %s (per second over %.1f s; counters that moved)\n", ts,
              r["interval_s"].get<double>());
  std::vector<std::vector<std::string>> rows = {{"COUNTER", "PACKETS/s", "BYTES/s"}};
  auto row = [&rows](const std::string& name, const json& v) {
    const double p = v["packets_per_s"], b = v["bytes_per_s"];
    if (p == 0 && b == 0) return;
    char ps[32], bs[32];
    std::snprintf(ps, sizeof ps, "%.1f", p);
    std::snprintf(bs, sizeof bs, "%.0f", b);
    rows.push_back({name, ps, bs});
  };
  for (const auto& [name, v] : r["reasons"].items()) row(name, v);
  for (const auto& v : r["vips"]) row("vip " + v["service"].get<std::string>(), v["rate"]);
  for (const auto& b : r["backends"]) row("backend " + b["backend"].get<std::string>(), b["rate"]);
  PrintTable(rows);
}

int Stats(const Context& ctx, const std::vector<std::string>& args) {
  double interval = 0;  // 0: one read of the totals
  long count = -1;      // with --watch: forever
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--watch" || args[i] == "-w" || args[i] == "watch") {
      interval = 1;
      if (i + 1 < args.size() &&
          args[i + 1].find_first_not_of("0123456789.") == std::string::npos) {
        interval = std::stod(args[++i]);
        if (interval < 0.1 || interval > 3600)
          throw UsageError("--watch takes 0.1 to 3600 seconds");
      }
    } else if (args[i] == "--count" && i + 1 < args.size()) {
      count = std::stol(args[++i]);
      if (count < 1) throw UsageError("--count wants a positive number");
    } else {
      throw UsageError("unknown argument '" + args[i] + "'");
    }
  }
  ironlb::dataplane::PinnedMaps maps(ctx.bpffs);
  json before = ironlb::dataplane::DumpStats(maps.ops());
  if (interval == 0) {
    Emit(ctx, before, [&] { PrintTotals(before); });
    return kExitOk;
  }
  auto t0 = std::chrono::steady_clock::now();
  for (long n = 0; count < 0 || n < count; ++n) {
    std::this_thread::sleep_for(std::chrono::duration<double>(interval));
    json after = ironlb::dataplane::DumpStats(maps.ops());
    const auto t1 = std::chrono::steady_clock::now();
    const json r = Rate(before, after, std::chrono::duration<double>(t1 - t0).count());
    // -j: one JSON document per line and interval (JSON Lines), for `| jq` and scripts.
    Emit(ctx, r, [&] { PrintRates(r); });
    before = std::move(after);
    t0 = t1;
  }
  return kExitOk;
}

// The verb is empty: `ironlbctl stats` alone.
IRONLBCTL_REGISTER(Command{
    "stats", "", "[--watch [SECONDS]] [--count N]", "data plane counters, or rates with --watch",
    Stats,
    "    Without options: totals since the maps were created, summed over every CPU, per reason\n"
    "    (fwd_*, tx_*, pass_*, drop_*), per VIP:PORT/PROTO and per endpoint. With --watch: every\n"
    "    SECONDS (default 1) the rates per second of the counters that moved, until interrupted\n"
    "    or --count intervals; with -j one JSON document per interval:\n"
    "    {interval_s, reasons: {NAME: {packets_per_s, bytes_per_s}}, vips: [{service, rate}],\n"
    "    backends: [{backend, rate}]}.\n"});

}  // namespace
}  // namespace ironlbctl
