// How --flow-cache-entries becomes the flow cache's sets per CPU (bpf/flow_cache.h): each CPU's
// share in sets of two, rounded down to a power of two, and off when a share holds no set.
#include <gtest/gtest.h>

#include "dataplane/bpf_objects.h"

namespace ironlb::dataplane {
namespace {

TEST(FlowCacheSizing, EachCpuGetsItsSharePowerOfTwoSets) {
  EXPECT_EQ(BpfObjects::FlowCacheSetsPerCpu(LB_FLOW_CACHE_DEFAULT_ENTRIES, 2), 32768u);
  EXPECT_EQ(BpfObjects::FlowCacheSetsPerCpu(LB_FLOW_CACHE_DEFAULT_ENTRIES, 3), 16384u)
      << "21845 sets a CPU rounded down";
  EXPECT_EQ(BpfObjects::FlowCacheSetsPerCpu(LB_FLOW_CACHE_DEFAULT_ENTRIES, 64), 1024u)
      << "the same 4 MiB on a large node";
  EXPECT_EQ(BpfObjects::FlowCacheSetsPerCpu(4, 2), 1u);
  EXPECT_EQ(BpfObjects::FlowCacheSetsPerCpu(3, 2), 0u) << "no whole set a CPU: off";
  EXPECT_EQ(BpfObjects::FlowCacheSetsPerCpu(0, 2), 0u);
  EXPECT_EQ(BpfObjects::FlowCacheSetsPerCpu(1u << 26, 1), 1u << 25);
  EXPECT_EQ(BpfObjects::FlowCacheSetsPerCpu(1000, 0), 0u);
}

}  // namespace
}  // namespace ironlb::dataplane
