// `kubectl ironlb --node NODE ...`: the same command, run by the ironlbctl inside the speaker pod
// on NODE, reached through the cluster (the pod found by node, then `kubectl exec`), so reading a
// node's maps or its agent needs no shell on the node.
#pragma once

#include <string>
#include <vector>

namespace ironlbctl {

struct RemoteTarget {
  std::string node;
  std::string ns = "ironlb-system";
};

// Finds the speaker pod on t.node (labels app.kubernetes.io/name=ironlb,
// app.kubernetes.io/component=speaker) and replaces this process with
// `kubectl exec -n NS POD -c speaker -- ironlbctl ARGS`. kubectl is $KUBECTL or `kubectl` on
// PATH. Returns only on failure: the exit status to use, the reason on stderr.
int RunOnNode(const RemoteTarget& t, const std::vector<std::string>& args,
              const std::string& program);

}  // namespace ironlbctl
