// Helpers shared by the Maglev unit tests: backend sets named like real endpoints, per-backend
// entry counts and the fraction of slots that changed backend between two tables.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "dataplane/maglev.h"

namespace ironlb::maglev::test_util {

// n distinct endpoints "10.<hi>.<lo>.7:8080/TCP" of weight 1.
inline std::vector<Backend> Endpoints(size_t n) {
  std::vector<Backend> v;
  for (size_t i = 0; i < n; ++i) {
    v.push_back({"10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".7:8080/TCP"});
  }
  return v;
}

// Entries owned by each backend, indexed like t.backends.
inline std::vector<size_t> Counts(const Table& t) {
  std::vector<size_t> c(t.backends.size(), 0);
  for (uint32_t e : t.entries) ++c.at(e);
  return c;
}

// Fraction of slots whose backend (by id) differs; both tables must have the same size.
inline double MovedFraction(const Table& a, const Table& b) {
  size_t moved = 0;
  for (size_t s = 0; s < a.entries.size(); ++s) {
    if (a.backends[a.entries[s]].id != b.backends[b.entries[s]].id) ++moved;
  }
  return static_cast<double>(moved) / static_cast<double>(a.entries.size());
}

}  // namespace ironlb::maglev::test_util
