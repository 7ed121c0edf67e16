#include "remote.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>

namespace ironlbctl {
namespace {

constexpr int kExitFailed = 1;
constexpr const char* kSpeakerSelector =
    "app.kubernetes.io/name=ironlb,app.kubernetes.io/component=speaker";
constexpr const char* kSpeakerContainer = "speaker";

std::string Kubectl() {
  const char* k = std::getenv("KUBECTL");
  return k && *k ? k : "kubectl";
}

std::vector<char*> Argv(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (auto& a : args) out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

// Runs `args` (no shell: a node name is never interpreted) and returns its stdout; false when
// it could not run or failed (its stderr goes to ours).
bool Capture(std::vector<std::string> args, std::string* out) {
  int fds[2];
  if (pipe(fds) != 0) return false;
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    auto argv = Argv(args);
    execvp(argv[0], argv.data());
    std::cerr << args[0] << ": " << std::strerror(errno) << "\n";
    _exit(127);
  }
  close(fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out->append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

int RunOnNode(const RemoteTarget& t, const std::vector<std::string>& args,
              const std::string& program) {
  const std::string kubectl = Kubectl();
  std::string names;
  if (!Capture({kubectl, "get", "pods", "--namespace", t.ns, "--selector", kSpeakerSelector,
                "--field-selector", "spec.nodeName=" + t.node, "--output",
                "jsonpath={.items[*].metadata.name}"},
               &names)) {
    std::cerr << program << ": cannot list the speaker pods with " << kubectl << "\n";
    return kExitFailed;
  }
  std::istringstream in(names);
  std::string pod;
  in >> pod;
  if (pod.empty()) {
    std::cerr << program << ": no ironlb speaker pod on node " << t.node << " (namespace " << t.ns
              << ")\n";
    return kExitFailed;
  }
  std::vector<std::string> exec = {kubectl,    "exec",        "--namespace",     t.ns,
                                   pod,        "--container", kSpeakerContainer, "--",
                                   "ironlbctl"};
  exec.insert(exec.end(), args.begin(), args.end());
  auto argv = Argv(exec);
  execvp(argv[0], argv.data());
  std::cerr << program << ": " << kubectl << ": " << std::strerror(errno) << "\n";
  return kExitFailed;
}

}  // namespace ironlbctl
