// Maglev table population. Each backend walks its own permutation of the table slots
// (offset + j * skip mod M, M prime so every skip visits every slot) and, turn by turn, claims the
// next slot of its permutation that is still free. Backends take turns in proportion to weight
// using a credit counter, so weights never duplicate ids (duplicated ids would hash alike).
#include "dataplane/maglev.h"

#include <algorithm>
#include <array>
#include <limits>
#include <stdexcept>

namespace ironlb::maglev {
namespace {

// The two SipHash keys that make offset and skip independent hashes of the id. Arbitrary but
// frozen: changing either re-maps flows on a rolling upgrade, and the golden test pins them.
// Each is the ASCII of a label read as two little-endian 64-bit words.
constexpr uint64_t kOffsetKey0 = 0x6c67616d2d626c6eULL;  // "nlb-magl"
constexpr uint64_t kOffsetKey1 = 0x74657366666f2d76ULL;  // "v-offset"
constexpr uint64_t kSkipKey0 = 0x6c67616d2d626c6eULL;    // "nlb-magl"
constexpr uint64_t kSkipKey1 = 0x2d2d70696b732d76ULL;    // "v-skip--"

// The ladder TableSizeFor picks from: primes just below powers of two, then the Maglev paper's
// 65537. Roughly doubling, so the size changes only when the backend count doubles.
constexpr std::array<uint32_t, 9> kSizeLadder = {kMinTableSize, 509,   1021,  2039,         4093,
                                                 8191,          16381, 32749, kMaxTableSize};
static_assert(kSizeLadder.front() == kMinTableSize && kSizeLadder.back() == kMaxTableSize);

constexpr uint32_t kEmpty = std::numeric_limits<uint32_t>::max();

// Sorted by id, zero weights dropped, duplicate ids merged to their largest weight: a canonical
// form, so the input order cannot influence the table.
std::vector<Backend> Canonical(std::vector<Backend> in) {
  std::erase_if(in, [](const Backend& b) { return b.weight == 0; });
  std::sort(in.begin(), in.end(), [](const Backend& a, const Backend& b) {
    return a.id != b.id ? a.id < b.id : a.weight > b.weight;
  });
  // After the sort the first of each run of equal ids carries the largest weight.
  in.erase(std::unique(in.begin(), in.end(),
                       [](const Backend& a, const Backend& b) { return a.id == b.id; }),
           in.end());
  return in;
}

// Next slot of a permutation: (pos + skip) mod size for pos, skip < size, without a division
// (the probe loop is the hot path of Build).
uint32_t Advance(uint32_t pos, uint32_t skip, uint32_t size) {
  const uint64_t next = uint64_t{pos} + skip;
  return static_cast<uint32_t>(next >= size ? next - size : next);
}

}  // namespace

namespace detail {

namespace {
constexpr uint64_t Rotl(uint64_t x, int b) {
  return (x << b) | (x >> (64 - b));
}

struct SipState {
  // Initialisation constants from the SipHash paper ("somepseudorandomlygeneratedbytes").
  uint64_t v0, v1, v2, v3;

  void Round() {
    v0 += v1;
    v1 = Rotl(v1, 13);
    v1 ^= v0;
    v0 = Rotl(v0, 32);
    v2 += v3;
    v3 = Rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = Rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = Rotl(v1, 17);
    v1 ^= v2;
    v2 = Rotl(v2, 32);
  }
  void Compress(uint64_t m) {
    constexpr int kCompressionRounds = 2;  // the "2" of SipHash-2-4
    v3 ^= m;
    for (int i = 0; i < kCompressionRounds; ++i) Round();
    v0 ^= m;
  }
};

// Little-endian load, whatever the host byte order, so the hash is the same on every node.
uint64_t LoadLe(const unsigned char* p, size_t n) {
  uint64_t w = 0;
  for (size_t i = 0; i < n; ++i) w |= uint64_t{p[i]} << (8 * i);
  return w;
}
}  // namespace

uint64_t SipHash24(uint64_t k0, uint64_t k1, std::string_view data) {
  SipState s{k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL, k0 ^ 0x6c7967656e657261ULL,
             k1 ^ 0x7465646279746573ULL};
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const size_t n = data.size();
  constexpr size_t kWord = sizeof(uint64_t);
  size_t i = 0;
  for (; i + kWord <= n; i += kWord) s.Compress(LoadLe(p + i, kWord));
  // The last block carries the remaining bytes and, in its top byte, the length mod 256.
  s.Compress(LoadLe(p + i, n - i) | (uint64_t{n & 0xff} << 56));
  constexpr int kFinalizationRounds = 4;  // the "4" of SipHash-2-4
  s.v2 ^= 0xff;
  for (int r = 0; r < kFinalizationRounds; ++r) s.Round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

bool IsPrime(uint32_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (uint64_t d = 3; d * d <= n; d += 2) {
    if (n % d == 0) return false;
  }
  return true;
}

}  // namespace detail

uint32_t TableSizeFor(size_t n_backends) {
  const uint64_t want = uint64_t{n_backends} * kEntriesPerBackend;
  for (uint32_t size : kSizeLadder) {
    if (size >= want) return size;
  }
  return kMaxTableSize;
}

Table Build(std::vector<Backend> backends, uint32_t size) {
  Table t;
  t.backends = Canonical(std::move(backends));
  const size_t n = t.backends.size();
  if (n == 0) return t;
  if (!detail::IsPrime(size) || size <= n) {
    throw std::invalid_argument("maglev: table size " + std::to_string(size) +
                                " must be prime and greater than the " + std::to_string(n) +
                                " backends");
  }

  // Per backend: the next slot of its permutation and how many turns it has banked.
  std::vector<uint32_t> pos(n);
  std::vector<uint32_t> skip(n);
  std::vector<uint64_t> credit(n, 0);
  uint32_t max_weight = 0;
  for (size_t i = 0; i < n; ++i) {
    const std::string& id = t.backends[i].id;
    pos[i] = static_cast<uint32_t>(detail::SipHash24(kOffsetKey0, kOffsetKey1, id) % size);
    skip[i] = static_cast<uint32_t>(detail::SipHash24(kSkipKey0, kSkipKey1, id) % (size - 1)) + 1;
    max_weight = std::max(max_weight, t.backends[i].weight);
  }

  t.entries.assign(size, kEmpty);
  uint32_t filled = 0;
  // Each round every backend banks its weight; each max_weight banked buys one slot. The
  // heaviest backend claims one slot per round, so a backend of weight w claims w / max_weight
  // per round, and the table fills within `size` rounds.
  while (true) {
    for (size_t i = 0; i < n; ++i) {
      credit[i] += t.backends[i].weight;
      for (; credit[i] >= max_weight; credit[i] -= max_weight) {
        // Terminates: the permutation visits every slot and at least one is still free.
        while (t.entries[pos[i]] != kEmpty) pos[i] = Advance(pos[i], skip[i], size);
        t.entries[pos[i]] = static_cast<uint32_t>(i);
        if (++filled == size) return t;
      }
    }
  }
}

}  // namespace ironlb::maglev
