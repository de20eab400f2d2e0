#!/usr/bin/env bash
# GPU check, for a machine with a CUDA GPU and `torch` already installed (no network needed):
#   1. builds softprompt against that torch (build-gpu/);
#   2. runs the test suites with the models on CUDA, in float32 and in bfloat16;
#   3. runs the benchmark on CUDA (softprompt vs PEFT when transformers and peft are importable);
#   4. prints a short table last.
# Environment: SP_PYTHON (default: .venv/bin/python if present, else python3). If cmocka or
# nlohmann-json are not installed, put their Debian .deb files in .debs/ (apt-get download
# libcmocka0 libcmocka-dev nlohmann-json3-dev) and they are unpacked into build-gpu/deps.
# Tolerances on CUDA: float32 conformance runs with SP_TEST_TOLERANCE_SCALE=10 (TF32 is off, but
# CUDA kernels sum in another order than the CPU references); bfloat16 runs skip the comparisons
# with float32 references and check behaviour (errors, learning, files) only.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build-gpu
python=${SP_PYTHON:-$([ -x "$root/.venv/bin/python" ] && echo "$root/.venv/bin/python" || echo python3)}
declare -a rows=()
row() { rows+=("$(printf '%-44s %s' "$1" "$2")"); }

torch_dir=$("$python" -c "import torch, os; print(os.path.join(torch.utils.cmake_prefix_path, 'Torch'))") || {
  echo "gpu-check: $python cannot import torch" >&2; exit 1; }
"$python" -c "import torch; assert torch.cuda.is_available()" 2>/dev/null || { echo "gpu-check: torch sees no CUDA device" >&2; exit 1; }
gpu=$("$python" -c "import torch; print(torch.cuda.get_device_name(0))")
row "GPU" "$gpu"
row "torch" "$("$python" -c 'import torch; print(torch.__version__)')"

prefix_args=()
if ls "$root"/.debs/*.deb >/dev/null 2>&1; then
  mkdir -p "$build/deps"
  for deb in "$root"/.debs/*.deb; do dpkg -x "$deb" "$build/deps"; done
  prefix_args=(-DCMAKE_PREFIX_PATH="$build/deps/usr;$build/deps/usr/lib/x86_64-linux-gnu/cmake;$build/deps/usr/share/cmake")
  export LD_LIBRARY_PATH=$build/deps/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
fi
have_reference_tools=0
"$python" -c "import transformers, peft" 2>/dev/null && have_reference_tools=1

start=$(date +%s)
if cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSP_PYTHON="$python" -DTorch_DIR="$torch_dir" \
     "${prefix_args[@]}" >"$build.configure.log" 2>&1 && cmake --build "$build" -j "$(nproc)" >"$build.build.log" 2>&1; then
  row "build" "ok in $(( $(date +%s) - start )) s"
else
  row "build" "FAILED (see $build.configure.log, $build.build.log)"
  printf '%s\n' "${rows[@]}"; exit 1
fi

run_suites() {  # $1 dtype, $2 ctest exclusion regex, $3 tolerance scale
  local log=$build/ctest-$1.log
  (cd "$build" && SP_TEST_DEVICE=cuda SP_TEST_DTYPE=$1 SP_TEST_TOLERANCE_SCALE=$3 \
     HF_HUB_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1 TRANSFORMERS_VERBOSITY=error \
     ctest --output-on-failure ${2:+-E "$2"} >"$log" 2>&1)
  local rc=$?
  row "tests, CUDA $1" "$(grep -E 'tests passed' "$log" | tail -1) (rc $rc, log $log)"
  grep -hE 'max \|diff\|' "$log" | sort -k2 -t'=' -g | tail -3 | sed 's/^ */    worst: /' >>"$build/worst-$1.txt"
}
no_reference=""
[ $have_reference_tools = 1 ] || no_reference="peft_reference|conformance|adapter_files|ours_in_peft"
run_suites float32 "$no_reference" 10
run_suites bfloat16 "conformance|ours_in_peft${no_reference:+|$no_reference}" 1

model=$build/bench/model-llama-768
"$build/examples/make_tiny_model" llama "$model" --layers 4 --hidden 768 --heads 12 --kv-heads 4 \
  --intermediate 2048 --vocab 8192 --positions 1024 >/dev/null
for dtype in float32 bfloat16; do
  if [ $have_reference_tools = 1 ]; then
    out=$(HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error "$python" "$root/bench/compare_with_peft.py" \
          --bench "$build/bench/bench_prompt_tuning" --model "$model" --device cuda --dtype $dtype --steps 20 2>/dev/null)
    echo "$out"
    row "bench CUDA $dtype train (ours, PEFT, ratio)" "$(echo "$out" | awk '/^train step/ {print $3, $4, $5}')"
    row "bench CUDA $dtype forward (ours, PEFT, ratio)" "$(echo "$out" | awk '/^forward/ {print $2, $3, $4}')"
  else
    out=$("$build/bench/bench_prompt_tuning" "$model" 8 128 20 20 cuda $dtype)
    row "bench CUDA $dtype (ours only; no peft here)" "$out"
  fi
done

echo
echo "== gpu-check summary"
printf '%s\n' "${rows[@]}"
cat "$build"/worst-*.txt 2>/dev/null
