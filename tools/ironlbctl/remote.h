// Runs an ironlbctl command on other nodes through the cluster: finds the ironlb speaker pod of
// each node with kubectl and executes ironlbctl inside it (`kubectl ironlb --node N vip list`).
#pragma once

#include <string>
#include <vector>

#include "command.h"

namespace ironlbctl {

struct Remote {
  std::string node;  // one node's speaker; empty with all_nodes
  bool all_nodes = false;
  std::string namespace_ = "ironlb-system";
  std::string kubeconfig;  // forwarded to kubectl when set
  std::string context;
  // Forwarded to the remote ironlbctl only when given: the pod's defaults are the agent's.
  std::vector<std::string> paths;
  bool wanted() const { return all_nodes || !node.empty(); }
};

// Runs `args` (object, command, arguments) on the selected speakers and returns the exit code:
// one node's exit code as is; across nodes the worst of them. Output: one node's is passed
// through; across nodes, tables under a "== node (pod)" heading each, JSON as one object keyed
// by node name.
int RunRemote(const Context& ctx, const Remote& remote, const std::vector<std::string>& args);

}  // namespace ironlbctl
