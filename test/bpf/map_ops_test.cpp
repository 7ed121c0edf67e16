// MapOps against real kernel maps: the Maglev array written through a mapping of the map (the
// kernel lays array values out 8 bytes apart) reads back the same through the syscalls; the batch
// walk sees every entry of a hash map larger than one batch, and per-CPU counters come back for
// every possible CPU.
#include "dataplane/map_ops.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <set>
#include <vector>

#include "dataplane/map_layout.h"
#include "dataplane/reasons.h"

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
    // A range that starts and ends inside pages.
    ops.UpdateRange(MapId::kMaglev, 10, {7, 8});
    EXPECT_EQ(ops.LookupRange(MapId::kMaglev, 9, 4), (std::vector<uint32_t>{a[9], 7, 8, a[12]}));
  }
  close(fd);
}

// Mappings of BPF maps this process holds ("anon_inode:bpf-map" in /proc/self/maps).
int BpfMapMappings() {
  FILE* f = fopen("/proc/self/maps", "r");
  if (f == nullptr) return -1;
  int n = 0;
  char line[512];
  while (fgets(line, sizeof line, f) != nullptr) n += strstr(line, "bpf-map") != nullptr;
  fclose(f);
  return n;
}

TEST(MapOpsWindow, WritesShareOneMappingUntilThePassEnds) {
  // 1 M slots, 8 bytes apart: 8 MiB, four 2 MiB windows.
  const int fd = ArrayOfU32(1u << 20, BPF_F_MMAPABLE);
  ASSERT_GE(fd, 0) << "bpf_map_create";
  const int before = BpfMapMappings();
  {
    BpfMapOps ops({{MapId::kMaglev, fd}});
    const auto a = Pattern(1021, 1), b = Pattern(1021, 2), c = Pattern(4093, 3);
    ops.UpdateRange(MapId::kMaglev, 0, a);
    ops.UpdateRange(MapId::kMaglev, 1021, b);  // beside it, in the same window
    EXPECT_EQ(BpfMapMappings(), before + 1);
    // Across a window's end (slot 262,144 is byte 2 MiB), and then far away.
    ops.UpdateRange(MapId::kMaglev, 262144 - 100, c);
    ops.UpdateRange(MapId::kMaglev, (1u << 20) - 1021, a);
    EXPECT_EQ(BpfMapMappings(), before + 1);
    ops.EndPass();
    EXPECT_EQ(BpfMapMappings(), before);  // nothing of the array stays mapped between passes
    // Everything written reads back through the syscalls.
    auto check = [&](uint32_t first, const std::vector<uint32_t>& want) {
      for (uint32_t i = 0; i < want.size(); ++i) {
        uint32_t key = first + i, v = 0;
        ASSERT_EQ(bpf_map_lookup_elem(fd, &key, &v), 0);
        ASSERT_EQ(v, want[i]) << "slot " << key;
      }
    };
    check(0, a);
    check(1021, b);
    check(262144 - 100, c);
    check((1u << 20) - 1021, a);
    // A write after the pass maps again; the object's end unmaps it.
    ops.UpdateRange(MapId::kMaglev, 5, {9});
    EXPECT_EQ(BpfMapMappings(), before + 1);
  }
  EXPECT_EQ(BpfMapMappings(), before);
  close(fd);
}

// With BPF_F_MMAPABLE (what bpf/ creates now) and without it (a pin left by an older agent).
INSTANTIATE_TEST_SUITE_P(Flags, MapOpsRange, ::testing::Values(BPF_F_MMAPABLE, 0u));

TEST(MapOpsWalk, BatchWalkSeesEveryEntryOfAnLruAndCountsThem) {
  // More entries than one batch (4,096), in the conntrack map's own type and layout.
  const int fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "test_ct", sizeof(lb_ct_key),
                                sizeof(lb_ct_value), 16384, nullptr);
  ASSERT_GE(fd, 0) << "bpf_map_create";
  std::set<uint32_t> written;
  for (uint32_t i = 0; i < 10000; ++i) {
    lb_ct_key k{};
    k.src[0] = i;
    k.sport = static_cast<__be16>(i);
    lb_ct_value v{};
    v.backend_id = i;
    ASSERT_EQ(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
    written.insert(i);
  }
  BpfMapOps ops({{MapId::kConntrack, fd}});
  std::set<uint32_t> seen;
  ops.ForEach(MapId::kConntrack, [&](const Bytes& key, const Bytes& value) {
    const auto k = FromBytes<lb_ct_key>(key);
    const auto v = FromBytes<lb_ct_value>(value);
    EXPECT_EQ(k.src[0], v.backend_id);
    seen.insert(v.backend_id);
  });
  EXPECT_EQ(seen, written);
  EXPECT_EQ(ops.Count(MapId::kConntrack), 10000u);
  close(fd);
}

TEST(MapOpsWalk, PerCpuCountersSumOverEveryPossibleCpu) {
  const int cpus = libbpf_num_possible_cpus();
  ASSERT_GT(cpus, 0);
  const int fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "test_stats", sizeof(uint32_t),
                                sizeof(lb_counter), 8, nullptr);
  ASSERT_GE(fd, 0) << "bpf_map_create";
  std::vector<lb_counter> per_cpu(static_cast<size_t>(cpus));
  for (int c = 0; c < cpus; ++c) per_cpu[static_cast<size_t>(c)] = {uint64_t(c + 1), 100};
  const uint32_t index = 5;
  ASSERT_EQ(bpf_map_update_elem(fd, &index, per_cpu.data(), BPF_ANY), 0);
  BpfMapOps ops({{MapId::kVipStats, fd}});
  const lb_counter sum = SumCounters(ops, MapId::kVipStats, index);
  EXPECT_EQ(sum.packets, uint64_t(cpus) * (cpus + 1) / 2);
  EXPECT_EQ(sum.bytes, 100u * cpus);
  EXPECT_EQ(SumCounters(ops, MapId::kVipStats, 6).packets, 0u);
  size_t entries = 0;
  ops.ForEach(MapId::kVipStats, [&](const Bytes&, const Bytes& value) {
    EXPECT_EQ(value.size(), sizeof(lb_counter) * cpus);
    ++entries;
  });
  EXPECT_EQ(entries, 8u);
  close(fd);
}

}  // namespace
}  // namespace ironlb::dataplane
