// Proves the skeleton build rule: the generated skeleton loads into the real kernel and the
// program runs on a crafted frame through BPF_PROG_TEST_RUN.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <array>
#include <memory>

#include "xdp_count.skel.h"

namespace {

struct SkelDeleter {
  void operator()(xdp_count* s) const { xdp_count::destroy(s); }
};

TEST(XdpCount, SkeletonLoadsAndCountsFrames) {
  std::unique_ptr<xdp_count, SkelDeleter> skel(xdp_count::open_and_load());
  ASSERT_TRUE(skel) << "cannot load xdp_count (need CAP_BPF): " << errno;

  std::array<uint8_t, 64> frame{};
  frame[12] = 0x08;  // ethertype IPv4, contents irrelevant to this program
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = frame.size(),
              .repeat = 3);
  ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdp_count), &opts), 0);
  EXPECT_EQ(opts.retval, static_cast<uint32_t>(XDP_PASS));

  const int ncpu = libbpf_num_possible_cpus();
  std::vector<uint64_t> per_cpu(ncpu);
  uint32_t key = 0;
  ASSERT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel->maps.frames), &key, per_cpu.data()), 0);
  uint64_t total = 0;
  for (auto v : per_cpu) total += v;
  EXPECT_EQ(total, 3u);
}

}  // namespace
