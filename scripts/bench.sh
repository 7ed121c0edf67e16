#!/usr/bin/env bash
# Builds a Release tree with the benchmarks (build-bench/, or $IRONLB_BENCH_DIR) and runs the
# Google Benchmark binaries of test/bench, writing each one's JSON beside its console output.
#   scripts/bench.sh                 # all of them
#   scripts/bench.sh maglev alloc    # only these (names without _bench)
#   scripts/bench.sh forward_rate    # test/bench/forward_rate_bench.py (root; not in "all")
# The agent-scale and Katran comparisons need more setup; docs/benchmarks*.md give their commands.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${IRONLB_BENCH_DIR:-$root/build-bench}"
IRONLB_BUILD_DIR="$build" bash "$root/scripts/build.sh" -DCMAKE_BUILD_TYPE=Release -DIRONLB_BENCH=ON
out="$build/bench-results"
mkdir -p "$out"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$root"/test/bench/*_bench.cpp; do n="$(basename "$f" .cpp)"; names+=("${n%_bench}"); done
fi
for n in "${names[@]}"; do
  # Namespaces, the real agent and kube-proxy's rules (root): runs only when named.
  if [ "$n" = forward_rate ]; then
    echo "== $n"
    /usr/bin/python3 "$root/test/bench/${n}_bench.py" --bin "$build/bin" --json "$out/$n.json"
    continue
  fi
  bin="$build/bin/${n}_bench"
  [ -x "$bin" ] || { echo "bench: no such benchmark: $n ($bin)" >&2; exit 2; }
  echo "== $n"
  "$bin" --benchmark_out="$out/$n.json" --benchmark_out_format=json
done
echo "bench: results in $out"
