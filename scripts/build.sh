#!/usr/bin/env bash
# Configures (once) and builds softprompt in $SP_BUILD_DIR (default build/). Extra arguments go to
# the CMake configure step, e.g. scripts/build.sh -DSP_ASAN=ON.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SP_BUILD_DIR:-$root/build}
if [ ! -f "$build/CMakeCache.txt" ] || [ $# -gt 0 ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="${SP_BUILD_TYPE:-Release}" "$@" >/dev/null
fi
cmake --build "$build" -j "$(nproc)"
