#!/usr/bin/env bash
# Downloads into .debs/ the Debian packages that scripts/gpu-check.sh unpacks when the GPU machine
# lacks the cmocka, nlohmann-json, zlib, Oniguruma or utf8proc development files (it installs nothing: gpu-check.sh
# extracts them into build-gpu/deps). Run it on a Debian/Ubuntu machine with network access; the
# files (about 1.3 MB) are git-ignored, so a session hands them to the GPU machine explicitly
# (for the device tool: carry [".debs"]). zlib1g (the runtime) comes along because zlib1g-dev's
# libz.so is a link to it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$root/.debs"
cd "$root/.debs"
apt-get download libcmocka-dev libcmocka0 nlohmann-json3-dev zlib1g-dev zlib1g \
  libonig-dev libonig5 libutf8proc-dev libutf8proc2
ls -l "$root/.debs"
