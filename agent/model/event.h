// An event about an object, as Kubernetes' core/v1 Event carries it (MetalLB's reasons), raised
// by the controller and the speakers and delivered by whichever store the agent runs on.
#pragma once

#include <string>

#include "model/objects.h"

namespace ironlb {

// What an Event on an object says (Kubernetes' core/v1 Event, MetalLB's reasons).
struct ObjectEvent {
  enum class Type { kNormal, kWarning };
  ObjectRef about;
  Type type = Type::kNormal;
  std::string reason;   // "IPAllocated", "AllocationFailed", "nodeAssigned", ...
  std::string message;  // for people
  bool operator==(const ObjectEvent&) const = default;
};

}  // namespace ironlb
