#!/usr/bin/env bash
# Builds xdp_lb.bpf.o from another revision of bpf/ (default: main) so dp_xdp_bench can measure
# it in the same run as this tree's build:
#   test/bench/build_baseline_xdp.sh [REV] [OUT]   # then
#   sudo IRONLB_BASELINE_XDP_OBJ=OUT build-rel/bin/dp_xdp_bench
# The baseline must keep this tree's map layouts (lb_maps.h): the benchmark fills both alike.
set -euo pipefail
rev="${1:-main}"
out="${2:-/tmp/ironlb-baseline-$(git rev-parse --short "$rev").bpf.o}"
src="$(mktemp -d)"
trap 'rm -rf "$src"' EXIT
git archive "$rev" bpf | tar -x -C "$src"
clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I"$src/bpf" -I"/usr/include/$(gcc -print-multiarch)" \
  -c "$src/bpf/xdp_lb.bpf.c" -o "$out"
echo "$out"
