// ironlb-agent: the daemon. Parses flags, builds the Agent with the speaker components this
// node runs, and drives everything from one io_context until SIGTERM.
#include <malloc.h>
#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <iostream>

#include "kube/kube_store.h"
#include "kube/lease_leadership.h"
#include "kube/webhook.h"
#include "kube/webhook_flags.h"
#include "runtime/agent.h"
#include "runtime/components.h"
#include "runtime/log.h"
#include "runtime/options.h"
#include "store/file_store.h"

int main(int argc, char** argv) {
  using namespace ironlb;
  std::string error;
  bool help = false;
  std::vector<std::string> args = SplitFlagValues(argc, argv);
  kube::WebhookOptions wo;
  auto opts = kube::TakeWebhookFlags(&args, &wo, &error) ? ParseAgentOptions(args, &error, &help)
                                                         : std::nullopt;
  if (help) {
    std::cout << kAgentUsage << kube::kWebhookUsage;
    return 0;
  }
  if (!opts) {
    std::cerr << "ironlb-agent: " << error << "\n\n" << kAgentUsage << kube::kWebhookUsage;
    return 2;
  }
  if (!wo.listen.empty() && !(opts->cluster() && opts->want_controller)) {
    std::cerr << "ironlb-agent: --webhook-addr needs the controller role on a cluster\n";
    return 2;
  }
  log::Level level;
  if (!log::ParseLevel(opts->log_level, &level)) {
    std::cerr << "ironlb-agent: --log-level must be debug, info, warn or error\n";
    return 2;
  }
  log::SetLevel(level);
  // glibc gives each thread that allocates its own arena (up to 8 per core), and an arena keeps
  // the pages its thread freed: the decode, BGP and next-hop threads each held their peak's worth
  // apart from the main heap. Two arenas still spare the threads most contention (they allocate
  // little once started) and keep the agent's RSS near what it uses.
  mallopt(M_ARENA_MAX, 2);
  // The soft descriptor limit (often 1024) is a relic of select(); BPF maps, BGP sessions and
  // API clients all take descriptors, so use what the hard limit allows.
  if (rlimit nofile{};
      getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }

  boost::asio::io_context io;
  // The one choice between standalone and cluster: which store the objects come from.
  std::unique_ptr<ObjectStore> store;
  std::unique_ptr<Leadership> leadership;
  kube::KubeStore* kube_store = nullptr;  // owned by the agent; the webhook reads it
  try {
    if (opts->cluster()) {
      kube::ClusterConfig cluster =
          opts->in_cluster ? kube::InClusterConfig()
                           : kube::LoadKubeconfig(opts->kubeconfig, opts->kube_context);
      kube::KubeStoreOptions ko;
      ko.ns = opts->ns;
      ko.rate_limit = {opts->kube_qps, opts->kube_burst};
      ko.instance = opts->node;
      // The pod, from the downward API (the manifests set both), owns the status objects.
      const char* pod_name = std::getenv("IRONLB_POD_NAME");
      const char* pod_uid = std::getenv("IRONLB_POD_UID");
      if (pod_name && pod_uid && *pod_name && *pod_uid)
        ko.owner = kube::PodOwner{pod_name, pod_uid};
      // The controller makes the L2 key Secret the speakers follow, when it is missing.
      if (opts->want_controller && !opts->l2_key_secret.empty()) {
        const auto slash = opts->l2_key_secret.find('/');
        if (opts->l2_key_secret.substr(0, slash) == opts->ns)
          ko.create_key_secret = opts->l2_key_secret.substr(slash + 1);
        else
          std::cerr << "ironlb-agent: --l2-key-secret " << opts->l2_key_secret
                    << " is outside --namespace " << opts->ns << ": not created, not seen\n";
      }
      auto ks = std::make_unique<kube::KubeStore>(io, std::move(cluster), std::move(ko));
      if (opts->want_controller && opts->leader_elect) {
        kube::LeaderElectionOptions lo;
        lo.ns = opts->ns;
        lo.identity = kube::LeaseLeadership::MakeIdentity(opts->node);
        leadership = std::make_unique<kube::LeaseLeadership>(io, ks->client(), std::move(lo));
      }
      kube_store = ks.get();
      store = std::move(ks);
    } else {
      store = std::make_unique<FileStore>(io, opts->config_dir);
    }
  } catch (const std::exception& e) {
    std::cerr << "ironlb-agent: " << e.what() << "\n";
    return 2;
  }
  Agent agent(io, *opts, std::move(store));
  const Leadership* lease = leadership.get();
  if (leadership) agent.SetLeadership(std::move(leadership));
  // Declared after the agent, so destroyed before the store and Lease it reads.
  std::unique_ptr<kube::Webhook> webhook;
  if (kube_store && !wo.listen.empty()) {
    wo.ns = opts->ns;
    webhook = std::make_unique<kube::Webhook>(
        io, kube_store->client(), *kube_store,
        [&agent]() -> const Config& { return agent.config(); },
        [lease] { return !lease || lease->leader(); }, std::move(wo));
  }
  try {
    if (opts->want_speaker && !opts->no_dataplane) {
      if (opts->interfaces.empty()) {
        std::cerr << "ironlb-agent: the data plane needs at least one --interface (or pass "
                     "--no-dataplane to run without XDP)\n";
        return 2;
      }
      agent.AddComponent(MakeDataplaneComponent(io, *opts));
      if (!opts->no_l2) agent.AddComponent(MakeL2Component(io, *opts));
    }
    // Added after the data plane so that shutdown (last added first) withdraws the routes
    // before anything else stops.
    if (opts->want_speaker && !opts->no_bgp) agent.AddComponent(MakeBgpComponent(io, *opts));
    agent.Start();
    if (webhook) webhook->Start();
  } catch (const std::exception& e) {
    log::Error("agent", std::string("cannot start: ") + e.what());
    return 1;
  }
  io.run();
  log::Info("agent", "stopped");
  return 0;
}
