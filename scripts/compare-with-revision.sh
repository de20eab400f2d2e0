#!/usr/bin/env bash
# Checks that this checkout computes bit for bit what another revision computes, on the CPU: the
# check for refactors that must not change behaviour. Builds <revision> in a temporary worktree (C
# library and C example only), trains every method for <steps> steps on one tiny llama model with
# both builds, and compares the saved adapter weights byte for byte and the printed losses.
# Usage: scripts/compare-with-revision.sh <revision> [steps]    (builds this checkout first)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
revision=${1:?usage: scripts/compare-with-revision.sh <revision> [steps]}
steps=${2:-40}
build=${SP_BUILD_DIR:-$root/build}
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

"$root/scripts/build.sh" >/dev/null
git -C "$root" worktree add --detach "$work/old" "$revision" >/dev/null
ln -s "$root/.venv" "$work/old/.venv"
echo "compare: building $revision (C library and example only)"
cmake -S "$work/old" -B "$work/old/build" -DCMAKE_BUILD_TYPE=Release -DSP_BUILD_BINDINGS=OFF -DSP_BUILD_BENCH=OFF \
  -DSP_BUILD_TESTS=OFF >/dev/null 2>&1
cmake --build "$work/old/build" -j "$(nproc)" --target train_prompt >/dev/null

"$build/tests/tools/make_tiny_model" llama "$work/model" >/dev/null
differing=0
for method in prompt prefix prefix-projection ptuning-mlp ptuning-lstm mpt; do
  for side in old new; do
    binary=$build/examples/train_prompt
    [ "$side" = old ] && binary=$work/old/build/examples/train_prompt
    "$binary" "$work/model" "$work/$side-$method" "$steps" --method "$method" |
      grep -v '^softprompt \|^saved adapter' >"$work/$side-$method.txt"
  done
  if cmp -s "$work/old-$method/adapter_model.safetensors" "$work/new-$method/adapter_model.safetensors" &&
     cmp -s "$work/old-$method.txt" "$work/new-$method.txt"; then
    echo "compare: $method: weights after $steps steps and every printed loss identical"
  else
    echo "compare: $method: DIFFERENT from $revision" >&2
    differing=1
  fi
done
exit $differing
