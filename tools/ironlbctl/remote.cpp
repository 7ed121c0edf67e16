// kubectl does the talking to the cluster (its kubeconfig, credentials plugins, proxies and exec
// transport are what operators already trust); this file only picks the pods and runs ironlbctl
// in them.
#include "remote.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>

extern char** environ;

namespace ironlbctl {
namespace {

struct Ran {
  int code = 0;
  std::string out;
};

std::string Kubectl() {
  const char* k = std::getenv("KUBECTL");
  return k && *k ? k : "kubectl";
}

std::string Quoted(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

// Runs argv; stdout captured when `capture`, else inherited, as stderr always is.
Ran Spawn(const std::vector<std::string>& argv, bool capture) {
  int pipefd[2] = {-1, -1};
  if (capture && pipe2(pipefd, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (capture) posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::cout.flush();
  pid_t pid = 0;
  const int err = posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (capture) close(pipefd[1]);
  if (err != 0) {
    if (capture) close(pipefd[0]);
    throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(err) +
                             " (--node needs kubectl on PATH, or KUBECTL=/path/to/kubectl)");
  }
  Ran r;
  if (capture) {
    char buf[65536];
    ssize_t n;
    while ((n = read(pipefd[0], buf, sizeof buf)) > 0) r.out.append(buf, static_cast<size_t>(n));
    close(pipefd[0]);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : kExitError;
  return r;
}

std::vector<std::string> KubectlBase(const Remote& remote) {
  std::vector<std::string> k = {Kubectl()};
  if (!remote.kubeconfig.empty()) k.insert(k.end(), {"--kubeconfig", remote.kubeconfig});
  if (!remote.context.empty()) k.insert(k.end(), {"--context", remote.context});
  k.insert(k.end(), {"--namespace", remote.namespace_});
  return k;
}

struct Speaker {
  std::string node, pod;
};

// The running speaker pods (the DaemonSet's labels, kube/deploy/base/speaker.yaml).
std::vector<Speaker> FindSpeakers(const Remote& remote) {
  std::vector<std::string> argv = KubectlBase(remote);
  argv.insert(argv.end(), {"get", "pods", "--selector",
                           "app.kubernetes.io/name=ironlb,app.kubernetes.io/component=speaker"});
  if (!remote.node.empty())
    argv.insert(argv.end(), {"--field-selector", "spec.nodeName=" + remote.node});
  argv.insert(argv.end(), {"--output", "json"});
  const Ran r = Spawn(argv, true);
  if (r.code != 0) throw std::runtime_error("listing the speaker pods failed: " + Quoted(argv));
  nlohmann::json list;
  try {
    list = nlohmann::json::parse(r.out);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("kubectl gave no pod list (" + std::string(e.what()) +
                             "): " + Quoted(argv));
  }
  std::vector<Speaker> out;
  for (const auto& p : list.value("items", nlohmann::json::array())) {
    if (p["status"].value("phase", "") != "Running") continue;
    out.push_back({p["spec"].value("nodeName", ""), p["metadata"].value("name", "")});
  }
  if (out.empty()) {
    throw std::runtime_error(
        (remote.node.empty() ? "no running ironlb speaker pod"
                             : "no running ironlb speaker pod on node " + remote.node) +
        " in namespace " + remote.namespace_ + " (pods labelled app.kubernetes.io/name=ironlb," +
        "app.kubernetes.io/component=speaker; see --namespace)");
  }
  return out;
}

std::vector<std::string> ExecArgv(const Context& ctx, const Remote& remote, const Speaker& s,
                                  const std::vector<std::string>& args) {
  std::vector<std::string> argv = KubectlBase(remote);
  argv.insert(argv.end(), {"exec", s.pod, "--container", "speaker", "--", "ironlbctl"});
  if (ctx.pretty)
    argv.push_back("-p");
  else if (ctx.json)
    argv.push_back("-j");
  argv.insert(argv.end(), remote.paths.begin(), remote.paths.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

}  // namespace

int RunRemote(const Context& ctx, const Remote& remote, const std::vector<std::string>& args) {
  const std::vector<Speaker> speakers = FindSpeakers(remote);
  if (!remote.all_nodes) return Spawn(ExecArgv(ctx, remote, speakers.front(), args), false).code;
  int worst = kExitOk;
  nlohmann::json merged = nlohmann::json::object();
  for (const auto& s : speakers) {
    if (!ctx.json) std::cout << "== " << s.node << " (" << s.pod << ")" << std::endl;
    const Ran r = Spawn(ExecArgv(ctx, remote, s, args), ctx.json);
    worst = std::max(worst, r.code);
    if (!ctx.json) continue;
    try {
      merged[s.node] = nlohmann::json::parse(r.out);
    } catch (const nlohmann::json::exception&) {
      // The node's error went to stderr; its entry says it could not answer.
      merged[s.node] = {{"error", "no answer (exit code " + std::to_string(r.code) + ")"}};
    }
  }
  if (ctx.json) std::cout << merged.dump(ctx.pretty ? 2 : -1) << std::endl;
  return worst;
}

}  // namespace ironlbctl
