// Maglev consistent hashing (Eisenbud et al., NSDI 2016): a pure function from a backend set and a
// prime table size to a lookup table, identical on every node, that the XDP program indexes by flow
// hash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ironlb::maglev {

// Smallest and largest table the agent builds. The minimum keeps >= 100 entries per backend for
// tiny services without paying for a big table; the maximum is the size of the per-service BPF
// array, so 10,000 services with a few endpoints each do not each cost 65,537 entries.
inline constexpr uint32_t kMinTableSize = 251;
inline constexpr uint32_t kMaxTableSize = 65537;
// Entries per backend the sizing aims for; the paper keeps imbalance and disruption small at
// M >= 100 * N.
inline constexpr uint32_t kEntriesPerBackend = 100;

struct Backend {
  std::string id;  // stable identity, e.g. "10.1.0.5:8080/TCP"; all nodes must spell it alike
  uint32_t weight = 1;

  bool operator==(const Backend&) const = default;
};

// A prime from a fixed ladder (251, 509, 1021, ..., 32749, 65537): the smallest that is
// >= kEntriesPerBackend * n_backends, capped at kMaxTableSize. A ladder rather than "next prime
// above 100n" so that adding or removing one endpoint almost never changes the size (a size
// change reshuffles the whole table). Monotone in n.
uint32_t TableSizeFor(size_t n_backends);

struct Table {
  std::vector<Backend> backends;  // sorted by id, zero-weight removed, duplicate ids merged
  std::vector<uint32_t> entries;  // index into backends; empty iff backends is empty

  bool operator==(const Table&) const = default;
};

// Pure: the same backend set in any input order gives the identical table.
// Duplicate ids are merged into one backend carrying the largest of their weights (a duplicate
// is the same endpoint seen twice, e.g. in two EndpointSlices during a slice move, not two).
// A backend of weight w gets about w / (sum of weights) of the entries; every entry is filled.
// No backends left (none given, or all weight 0) -> empty entries, whatever `size` is.
// Throws std::invalid_argument unless `size` is prime and greater than the number of backends.
Table Build(std::vector<Backend> backends, uint32_t size);

namespace detail {
// SipHash-2-4 (Aumasson & Bernstein, 2012) of `data` under the 128-bit key (k0, k1). Written here
// rather than std::hash because the table must be bit-identical across builds and nodes.
// Changing it, or the keys used by Build, moves flows to other backends during a rolling upgrade.
uint64_t SipHash24(uint64_t k0, uint64_t k1, std::string_view data);
bool IsPrime(uint32_t n);
}  // namespace detail

}  // namespace ironlb::maglev
