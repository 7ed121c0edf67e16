// SlotIndex, the map sync's identity -> backend slot index that stores slot ids alone: checked
// against a std::map over random inserts, replacements and removals (tombstones, rehashes).
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "dataplane/map_sync_image.h"

namespace ironlb::dataplane {
namespace {

struct Key {
  uint32_t a = 0;
  uint16_t b = 0;
  uint16_t c = 0;
  bool operator<(const Key& o) const { return a != o.a ? a < o.a : b != o.b ? b < o.b : c < o.c; }
};

// The array the index points into: slot -> the key it holds.
struct Slots {
  std::vector<Key> keys;
  Key operator()(uint32_t id) const { return keys.at(id); }
};

struct KeyOfRef {
  const Slots* slots;
  Key operator()(uint32_t id) const { return (*slots)(id); }
};

TEST(SlotIndexTest, FindsWhatWasSetAndNothingElse) {
  Slots slots{std::vector<Key>(8)};
  SlotIndex<Key, KeyOfRef> index{KeyOfRef{&slots}};
  EXPECT_EQ(index.Find(Key{1, 2, 3}), 0u);  // empty table
  slots.keys[5] = Key{1, 2, 3};
  index.Set(slots.keys[5], 5);
  EXPECT_EQ(index.Find(Key{1, 2, 3}), 5u);
  EXPECT_EQ(index.Find(Key{1, 2, 4}), 0u);
  // The same key from another slot replaces the first.
  slots.keys[7] = Key{1, 2, 3};
  index.Set(slots.keys[7], 7);
  EXPECT_EQ(index.Find(Key{1, 2, 3}), 7u);
  EXPECT_EQ(index.size(), 1u);
  // Only the slot the key names is removed.
  index.EraseIf(Key{1, 2, 3}, 5);
  EXPECT_EQ(index.Find(Key{1, 2, 3}), 7u);
  index.EraseIf(Key{1, 2, 3}, 7);
  EXPECT_EQ(index.Find(Key{1, 2, 3}), 0u);
  EXPECT_EQ(index.size(), 0u);
}

TEST(SlotIndexTest, AgreesWithAMapOverRandomChurn) {
  constexpr uint32_t kSlots = 20000;
  Slots slots{std::vector<Key>(kSlots)};
  SlotIndex<Key, KeyOfRef> index{KeyOfRef{&slots}};
  std::map<Key, uint32_t> want;
  std::vector<bool> used(kSlots);
  std::mt19937 rng(7);
  // Few distinct keys against many operations: keys come back, slots are reused, and erased
  // entries (tombstones) pile up between rehashes.
  auto random_key = [&] {
    return Key{static_cast<uint32_t>(rng() % 3000), static_cast<uint16_t>(rng() % 3), 80};
  };
  for (int step = 0; step < 200000; ++step) {
    const auto id = static_cast<uint32_t>(1 + rng() % (kSlots - 1));
    if (!used[id]) {
      const Key k = random_key();
      slots.keys[id] = k;
      used[id] = true;
      index.Set(k, id);
      want[k] = id;
    } else {
      const Key k = slots.keys[id];
      index.EraseIf(k, id);
      if (auto it = want.find(k); it != want.end() && it->second == id) want.erase(it);
      used[id] = false;
      // The slot's key stays as it was until the slot is taken again, as a freed backend slot
      // does: nothing indexes it meanwhile.
    }
    if (step % 1000 == 0) {
      ASSERT_EQ(index.size(), want.size()) << "step " << step;
      for (uint32_t probe = 0; probe < 50; ++probe) {
        const Key k = random_key();
        auto it = want.find(k);
        ASSERT_EQ(index.Find(k), it == want.end() ? 0u : it->second) << "step " << step;
      }
    }
  }
  for (const auto& [k, id] : want) ASSERT_EQ(index.Find(k), id);
  // At most 3/4 full, tombstones included: 4 bytes an entry, a little over.
  EXPECT_LE(index.size() * 4, index.capacity() * 3);
}

}  // namespace
}  // namespace ironlb::dataplane
