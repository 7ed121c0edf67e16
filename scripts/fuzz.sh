#!/usr/bin/env bash
# Builds test/fuzz with clang in its own build dir and runs the decoder fuzzers (BGP, BFD, YAML configuration).
#   scripts/fuzz.sh [SECONDS [TARGET...]]   (default 60 s each; targets: bgp bfd yaml)
#   IRONLB_FUZZ_BUILD_DIR overrides build-fuzz/
# Seeds and crash-* reproducers live in test/fuzz/corpus/<target>/, so crashes are kept and
# replayed first on every run; the growing corpus stays in the build dir. ctest runs this for a
# few seconds per target (label fuzz); run it longer by hand.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${IRONLB_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(bgp bfd yaml)
CC=clang CXX=clang++ cmake -S "$root/test/fuzz" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "${IRONLB_JOBS:-2}" >/dev/null
for t in "${targets[@]}"; do
  bin="$build/${t}_decode_fuzz"
  corpus="$root/test/fuzz/corpus/$t"
  [ -x "$bin" ] || { echo "fuzz: no target $t" >&2; exit 2; }
  mkdir -p "$corpus" "$build/corpus-$t"
  # Replay kept crashes first: a regression fails the run at once.
  for c in "$corpus"/crash-*; do
    [ -e "$c" ] || continue
    "$bin" "$c"
  done
  # New inputs go to the build dir's working corpus (first dir); the kept seeds are read only.
  log="$build/fuzz-$t.log"
  rc=0
  "$bin" -max_total_time="$seconds" -max_len=4097 -print_final_stats=1 \
    -artifact_prefix="$corpus/" "$build/corpus-$t" "$corpus" >"$log" 2>&1 || rc=$?
  if [ $rc -ne 0 ]; then
    tail -40 "$log"
    echo "fuzz: $t found a crash (exit $rc); the reproducer is in $corpus/crash-*" >&2
    exit 1
  fi
  echo "fuzz: $t: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') inputs in ${seconds} s, no crash"
done
