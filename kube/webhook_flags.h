// The --webhook-* flags of ironlb-agent, parsed apart from the agent's own options (they only
// mean something to the controller role on a cluster) and documented in one place.
#pragma once

#include <string>
#include <vector>

#include "kube/webhook.h"

namespace ironlb::kube {

extern const char* const kWebhookUsage;

// Moves every --webhook-* flag (as "--flag VALUE" or "--flag=VALUE") out of `args` into *opts;
// false with `*error` naming the flag when one is malformed. Other arguments stay in order.
bool TakeWebhookFlags(std::vector<std::string>* args, WebhookOptions* opts, std::string* error);

}  // namespace ironlb::kube
