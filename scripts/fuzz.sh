#!/usr/bin/env bash
# Builds test/fuzz with clang in its own build dir and runs the BGP decoder fuzzer.
#   scripts/fuzz.sh [SECONDS]        (default 60; IRONLB_FUZZ_BUILD_DIR overrides build-fuzz/)
# Seeds (the unit tests' golden messages) and crash-* reproducers live in test/fuzz/corpus/bgp/,
# so crashes are kept and replayed first on every run; the growing corpus stays in the build dir.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${IRONLB_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${1:-60}"
corpus="$root/test/fuzz/corpus/bgp"
CC=clang CXX=clang++ cmake -S "$root/test/fuzz" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "${IRONLB_JOBS:-1}" >/dev/null
mkdir -p "$corpus"
# Replay kept crashes first: a regression fails the run at once.
for c in "$corpus"/crash-*; do
  [ -e "$c" ] || continue
  "$build/bgp_decode_fuzz" "$c"
done
# New inputs go to the build dir's working corpus (first dir); the kept seeds are read only.
mkdir -p "$build/corpus"
"$build/bgp_decode_fuzz" -max_total_time="$seconds" -max_len=4097 \
  -artifact_prefix="$corpus/" "$build/corpus" "$corpus"
