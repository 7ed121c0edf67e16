// Runs the whole bpf_tests binary in a private network namespace, so test frames, FIB lookups
// and any interfaces a test creates never touch the host's network.
#include <gtest/gtest.h>
#include <sched.h>

#include <cstdlib>

namespace {

class PrivateNetns : public ::testing::Environment {
 public:
  void SetUp() override {
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "need CAP_SYS_ADMIN to create a network namespace";
    ASSERT_EQ(std::system("ip link set lo up"), 0);
  }
};

const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new PrivateNetns);

}  // namespace
