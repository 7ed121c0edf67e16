#!/usr/bin/env bash
# The whole suite: set up dependencies if needed, build with ASan+UBSan, run everything via ctest.
#   scripts/test.sh            # all tests
#   scripts/test.sh -L unit    # extra arguments go to ctest (labels: unit, bpf, e2e)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
export IRONLB_BUILD_DIR="${IRONLB_BUILD_DIR:-$root/build}"
IRONLB_SKIP_SETUP=1 IRONLB_SANITIZE="${IRONLB_SANITIZE:-ON}" bash "$root/scripts/build.sh" -DIRONLB_WERROR=ON
# Leak checking stays on; the sanitizers abort on the first error so ctest sees it.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
cd "$IRONLB_BUILD_DIR"
rc=0
ctest --output-on-failure --timeout 900 -j "${IRONLB_TEST_JOBS:-2}" --output-junit ctest-junit.xml \
  "$@" || rc=$?
# What ran and what skipped, by label (ctest alone counts a skip inside a pytest file as a pass).
/usr/bin/python3 "$root/scripts/test_summary.py" "$IRONLB_BUILD_DIR" \
  "$IRONLB_BUILD_DIR/ctest-junit.xml" || true
exit "$rc"
