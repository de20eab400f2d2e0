#!/usr/bin/env bash
# The main job: builds softprompt, writes a tiny random llama model folder, and runs the C example
# (train a prompt-tuning adapter, watch the loss fall, save, reload, evaluate again).
# Arguments: [steps] [--method prompt|prefix|prefix-projection|ptuning-mlp|ptuning-lstm|mpt]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SP_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" >/dev/null
work=$build/example
"$build/tests/tools/make_tiny_model" llama "$work/model"
steps=${1:-300}
shift || true
"$build/examples/train_prompt" "$work/model" "$work/adapter" "$steps" "$@"
