#!/usr/bin/env bash
# Configures and builds ironlb into build/ (or $IRONLB_BUILD_DIR). Extra arguments go to cmake.
#   IRONLB_SANITIZE=ON scripts/build.sh   # ASan + UBSan build, as the tests use
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${IRONLB_BUILD_DIR:-$root/build}"
gen=()
# A fresh machine has none of the dependencies; setup.sh is idempotent and quick once they are in.
[ -n "${IRONLB_SKIP_SETUP:-}" ] || bash "$root/scripts/setup.sh"
# Let ccache share objects between checkouts of the tree (worktrees, CI's fresh clone).
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-/}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
command -v ninja >/dev/null && [ ! -f "$build/Makefile" ] && gen=(-G Ninja)
cmake -S "$root" -B "$build" "${gen[@]}" -DIRONLB_SANITIZE="${IRONLB_SANITIZE:-OFF}" "$@" >/dev/null
cmake --build "$build" -j "${IRONLB_JOBS:-2}"
