// MapOps against real kernel maps: the Maglev array written through a mapping of the map (the
// kernel lays array values out 8 bytes apart) reads back the same through the syscalls.
#include "dataplane/map_ops.h"

#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <vector>

namespace ironlb::dataplane {
namespace {

int ArrayOfU32(uint32_t entries, uint32_t flags) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
  return bpf_map_create(BPF_MAP_TYPE_ARRAY, "test_maglev", sizeof(uint32_t), sizeof(uint32_t),
                        entries, &opts);
}

std::vector<uint32_t> Pattern(uint32_t n, uint32_t seed) {
  std::vector<uint32_t> v(n);
  for (uint32_t i = 0; i < n; ++i) v[i] = seed * 1000003u + i * 7919u;
  return v;
}

class MapOpsRange : public ::testing::TestWithParam<uint32_t> {};

TEST_P(MapOpsRange, WrittenRangeReadsBackThroughTheSyscalls) {
  const int fd = ArrayOfU32(4096, GetParam());
  ASSERT_GE(fd, 0) << "bpf_map_create";
  {
    BpfMapOps ops({{MapId::kMaglev, fd}});
    const auto a = Pattern(1021, 1), b = Pattern(251, 2);
    ops.UpdateRange(MapId::kMaglev, 0, a);
    ops.UpdateRange(MapId::kMaglev, 3000, b);
    for (uint32_t i = 0; i < a.size(); ++i) {
      uint32_t v = 0;
      ASSERT_EQ(bpf_map_lookup_elem(fd, &i, &v), 0);
      ASSERT_EQ(v, a[i]) << "slot " << i;
    }
    for (uint32_t i = 0; i < b.size(); ++i) {
      uint32_t key = 3000 + i, v = 0;
      ASSERT_EQ(bpf_map_lookup_elem(fd, &key, &v), 0);
      ASSERT_EQ(v, b[i]) << "slot " << key;
    }
    // Slots between the two ranges were never written.
    uint32_t key = 2000, v = 1;
    ASSERT_EQ(bpf_map_lookup_elem(fd, &key, &v), 0);
    EXPECT_EQ(v, 0u);
    EXPECT_EQ(ops.LookupRange(MapId::kMaglev, 3000, 251), b);
    // A write the syscalls made is seen by LookupRange too.
    key = 3001;
    v = 42;
    ASSERT_EQ(bpf_map_update_elem(fd, &key, &v, BPF_ANY), 0);
    EXPECT_EQ(ops.LookupRange(MapId::kMaglev, 3000, 2), (std::vector<uint32_t>{b[0], 42}));
    EXPECT_THROW(ops.UpdateRange(MapId::kMaglev, 4000, Pattern(200, 3)), std::runtime_error);
    // A range that starts and ends inside pages (each call maps only its own slots).
    ops.UpdateRange(MapId::kMaglev, 10, {7, 8});
    EXPECT_EQ(ops.LookupRange(MapId::kMaglev, 9, 4), (std::vector<uint32_t>{a[9], 7, 8, a[12]}));
  }
  close(fd);
}

// With BPF_F_MMAPABLE (what bpf/ creates now) and without it (a pin left by an older agent).
INSTANTIATE_TEST_SUITE_P(Flags, MapOpsRange, ::testing::Values(BPF_F_MMAPABLE, 0u));

}  // namespace
}  // namespace ironlb::dataplane
