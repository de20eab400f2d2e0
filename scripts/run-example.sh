#!/usr/bin/env bash
# The main job: builds softprompt, writes a tiny random llama model folder, and runs the C example
# (train a prompt-tuning adapter, watch the loss fall, save, reload, evaluate again).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SP_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" >/dev/null
work=$build/example
"$build/examples/make_tiny_model" llama "$work/model"
"$build/examples/train_prompt" "$work/model" "$work/adapter" "${1:-300}"
