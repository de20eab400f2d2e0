#!/usr/bin/env bash
# Benchmarks: softprompt vs PEFT on a 4-layer, 768-wide llama-shaped model with random weights
# (CPU, float32 unless told otherwise). Extra arguments go to bench/compare_with_peft.py,
# e.g. scripts/bench.sh --device cuda --dtype bfloat16; then tokenizer encode throughput against
# Hugging Face tokenizers (bench/compare_tokenizers.py).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SP_BUILD_DIR:-$root/build}
python=${SP_PYTHON:-$root/.venv/bin/python}
"$root/scripts/build.sh" >/dev/null
model=$build/bench/model-llama-768
[ -f "$model/config.json" ] || "$build/tests/tools/make_tiny_model" llama "$model" --layers 4 --hidden 768 --heads 12 \
  --kv-heads 4 --intermediate 2048 --vocab 8192 --positions 1024 >/dev/null
HF_HUB_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 TRANSFORMERS_VERBOSITY=error \
  "$python" "$root/bench/compare_with_peft.py" --bench "$build/bench/bench_prompt_tuning" --model "$model" "$@"
# Tokenizers: encode throughput, one thread, against Hugging Face tokenizers on the conformance corpus
# and tokenizer files (the tokenizer_reference fixture, written here if the tests have not yet).
tokenizers=$build/tests/data/tokenizer_reference
[ -f "$tokenizers/tokenizers.txt" ] || HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TRANSFORMERS_VERBOSITY=error \
  "$python" "$root/tests/reference/tokenizer_reference.py" --out "$tokenizers" >/dev/null
"$python" "$root/bench/compare_tokenizers.py" --bench "$build/bench/bench_tokenizer" --reference "$tokenizers"
