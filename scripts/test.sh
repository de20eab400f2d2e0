#!/usr/bin/env bash
# Every test: checks the C/C++ formatting (scripts/check-format.sh), builds softprompt and runs all suites with ctest (C API, conformance against
# transformers and PEFT, training, files), the conformance suites on other CPU kernel paths
# (scripts/test-kernel-paths.sh; SP_SKIP_KERNEL_PATHS=1 skips), then the C API suites again under
# AddressSanitizer and LeakSanitizer in a separate build (build-asan/).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SP_BUILD_DIR:-$root/build}
start=$(date +%s)

"$root/scripts/check-format.sh"
"$root/scripts/build.sh"
# Two at a time: much of a suite's time is Python start-up, file I/O and single-threaded work, so on
# 2 cores the pair finishes sooner than one after the other; fixtures still order what depends on what.
(cd "$build" && ctest --output-on-failure -j2)
# The conformance suites again on other CPU kernel paths (ATen default/AVX2, MKL, oneDNN).
[ "${SP_SKIP_KERNEL_PATHS:-0}" = 1 ] || "$root/scripts/test-kernel-paths.sh" "$build"

if [ "${SP_SKIP_ASAN:-0}" != 1 ]; then
  echo "== C API suites under AddressSanitizer + LeakSanitizer (build-asan/)"
  SP_BUILD_DIR=$root/build-asan SP_BUILD_TYPE=Debug "$root/scripts/build.sh" -DSP_ASAN=ON -DSP_BUILD_BENCH=OFF \
    -DSP_BUILD_BINDINGS=OFF
  (cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
     LSAN_OPTIONS=suppressions=$root/tests/asan/lsan.supp:print_suppressions=0 \
     ctest --output-on-failure -j2 -L asan)
fi
echo "all tests done in $(( $(date +%s) - start )) s"
