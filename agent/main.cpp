// ironlb-agent: the daemon. Parses flags, builds the Agent with the speaker components this
// node runs, and drives everything from one io_context until SIGTERM.
#include <boost/asio/io_context.hpp>
#include <iostream>

#include "runtime/agent.h"
#include "runtime/components.h"
#include "runtime/log.h"
#include "runtime/options.h"

int main(int argc, char** argv) {
  using namespace ironlb;
  std::string error;
  bool help = false;
  auto opts = ParseAgentOptions(std::vector<std::string>(argv + 1, argv + argc), &error, &help);
  if (help) {
    std::cout << kAgentUsage;
    return 0;
  }
  if (!opts) {
    std::cerr << "ironlb-agent: " << error << "\n\n" << kAgentUsage;
    return 2;
  }
  log::Level level;
  if (!log::ParseLevel(opts->log_level, &level)) {
    std::cerr << "ironlb-agent: --log-level must be debug, info, warn or error\n";
    return 2;
  }
  log::SetLevel(level);
  if (opts->cluster()) {
    // kube/ (KubeStore, leader election) is ready; the Agent still builds its FileStore itself.
    std::cerr
        << "ironlb-agent: cluster mode is not wired into the agent in this build; use --config\n";
    return 2;
  }

  boost::asio::io_context io;
  Agent agent(io, *opts);
  try {
    if (opts->want_speaker && !opts->no_dataplane) {
      if (opts->interfaces.empty()) {
        std::cerr << "ironlb-agent: the data plane needs at least one --interface (or pass "
                     "--no-dataplane to run without XDP)\n";
        return 2;
      }
      agent.AddComponent(MakeDataplaneComponent(io, *opts));
    }
    // Added after the data plane so that shutdown (last added first) withdraws the routes
    // before anything else stops.
    if (opts->want_speaker && !opts->no_bgp) agent.AddComponent(MakeBgpComponent(io, *opts));
    agent.Start();
  } catch (const std::exception& e) {
    log::Error("agent", std::string("cannot start: ") + e.what());
    return 1;
  }
  io.run();
  log::Info("agent", "stopped");
  return 0;
}
