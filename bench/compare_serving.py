"""softprompt vs PEFT serving many adapters on one model (issue 14), same model, adapters and prompts, one run.

Runs bench_serving (our C API, a subprocess): A adapters of every method (prompt tuning, prefix tuning, P-tuning MLP
and LSTM, multitask prompt tuning with task ids; 8..32 virtual tokens), prompt r served with adapter r, all A rows in
one call (row_adapters / prompts.adapters) against one adapter for every row and against one call per adapter; time
to first token with compiled and recomputed prompts; worker threads with their own contexts. bench_serving saves the
adapters in PEFT's layout (sp_adapter_save), and this script loads the very same adapters into PEFT.

PEFT's only option: one batch per adapter. A PeftModel holds adapters of one PEFT type (load_adapter refuses to mix
types), so each type gets its own PeftModel over one shared base model (prompt methods leave the base model as it
is), every adapter loaded with PeftModel.from_pretrained / load_adapter (inference mode, as served: P-tuning from its
saved encoder output), and set_adapter picks a row's adapter: A batches of 1 row. Logits: forward with
logits_to_keep=1 (the last position, as SP_LOGITS_LAST); generation: generate(do_sample=False, max_new_tokens=G,
min_new_tokens=G), with the tests' fix that hands PEFT 0.21.2 transformers 5.24's renamed cache
(tests/reference/peft_generate_cache.py). For reference, PEFT's best case too: one adapter, all A rows as one batch.
Threads: not measured on PEFT's side, whose active adapter is one per PeftModel (set_adapter changes the model), so
threads sharing a model cannot serve different adapters at once.

Both sides use --threads CPU threads for everything but the thread part (torch.set_num_threads here;
sp_set_num_threads, OMP_NUM_THREADS and MKL_NUM_THREADS for the subprocess); there each worker has one intra-op
thread. Each figure is the median of its repeats after one warm-up run. The greedy tokens of our mixed call and of
PEFT's per-adapter generate are compared row by row (printed, not asserted). On CUDA (--device cuda, bfloat16
advised) the same runs there; without a GPU visible to torch the script prints a skip line.

  python compare_serving.py --bench build/bench/bench_serving --model MODEL_FOLDER [--adapters 64] [--prompt-len 32]
         [--new-tokens 16] [--repeats 3] [--peft-repeats 2] [--threads 2] [--workers 1,2,4,8] [--rows-per-worker 8]
         [--rounds 2] [--ttft-tokens 100] [--device cpu|cuda] [--dtype float32|bfloat16]

Benchmark tool only: the library never runs Python. It measures; no goal is asserted (each is printed beside its
ratio).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

from compare_seq2seq import busy_cores, cpu_name

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from peft_generate_cache import pass_cache_under_its_old_name  # noqa: E402

warnings.filterwarnings("ignore", message="Position ids are not supported")
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=UserWarning)

GOAL_SINGLE = 0.9  # mixed rows at least this fraction of one adapter's throughput
GOAL_PEFT = 5.0  # mixed rows at least this many times PEFT's one batch per adapter


def synchronize(device):
    if device == "cuda":
        torch.cuda.synchronize()


def median_time(fn, device, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def prompt_ids(rows, length, vocab, device):
    """The same prompts as bench_serving.c (bench_prompt_ids): (row * 31 + position * 7) % (vocab - 3) + 3."""
    row = torch.arange(rows).unsqueeze(1)
    position = torch.arange(length).unsqueeze(0)
    return ((row * 31 + position * 7) % (vocab - 3) + 3).to(device)


def run_ours(args, folder):
    command = [args.bench, args.model, f"adapters={args.adapters}", f"prompt_len={args.prompt_len}",
               f"new_tokens={args.new_tokens}", f"repeats={args.repeats}", f"device={args.device}",
               f"dtype={args.dtype}", f"threads={args.threads}", f"workers={args.workers}",
               f"rows_per_worker={args.rows_per_worker}", f"rounds={args.rounds}", f"ttft_tokens={args.ttft_tokens}",
               f"save={folder}"]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    run = subprocess.run(command, capture_output=True, text=True, env=env)
    if run.returncode != 0:
        sys.exit(f"{' '.join(command)}: failed ({run.returncode}): {(run.stderr or run.stdout).strip()}")
    figures = {}
    for line in run.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            figures[(record["part"], record.get("case", ""), record.get("workers", 0))] = record
    return figures


class PeftServer:
    """The adapters bench_serving saved, in one PeftModel per PEFT type over one base model."""

    def __init__(self, args, folder, setup):
        dtype = torch.bfloat16 if args.dtype == "bfloat16" else torch.float32
        base = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype, attn_implementation="sdpa")
        base = base.to(args.device).eval()
        base.generation_config.eos_token_id = None  # every row runs to max_new_tokens, as ours
        base.generation_config.pad_token_id = 0
        self.device = args.device
        self.models = {}  # PEFT type -> PeftModel
        self.rows = []  # per row: (PeftModel, adapter name, task id or None)
        for r, adapter in enumerate(setup["adapters"]):
            name, path = f"a{r:02d}", os.path.join(folder, adapter["folder"])
            model = self._load(base, path, name)
            task = adapter["task"] if adapter["kind"] == "mpt" else None
            self.rows.append((model, name, task))
        self.ttft = (self._load(base, os.path.join(folder, "ttft-adapter"), "ttft"), "ttft", None)

    def _load(self, base, path, name):
        with open(os.path.join(path, "adapter_config.json")) as config:
            peft_type = json.load(config)["peft_type"]
        if peft_type not in self.models:
            model = PeftModel.from_pretrained(base, path, adapter_name=name).eval()
            pass_cache_under_its_old_name(model)
            self.models[peft_type] = model
        else:
            self.models[peft_type].load_adapter(path, adapter_name=name)
        self.models[peft_type].to(self.device)  # the new adapter's tables beside the model
        return self.models[peft_type]

    def _extra(self, task, rows):
        return {} if task is None else {"task_ids": torch.full((rows,), task, device=self.device)}

    def logits(self, row, ids):
        model, name, task = row
        model.set_adapter(name)
        with torch.inference_mode():
            out = model(input_ids=ids, attention_mask=torch.ones_like(ids), logits_to_keep=1,
                        **self._extra(task, ids.shape[0])).logits
        if out.shape[:2] != (ids.shape[0], 1):
            sys.exit(f"PEFT logits of shape {tuple(out.shape)}")
        return out

    def generate(self, row, ids, new_tokens):
        model, name, task = row
        model.set_adapter(name)
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                 max_new_tokens=new_tokens, min_new_tokens=new_tokens, pad_token_id=0,
                                 **self._extra(task, ids.shape[0]))
        if out.shape != (ids.shape[0], ids.shape[1] + new_tokens):
            sys.exit(f"PEFT generate returned shape {tuple(out.shape)}")
        return out[:, ids.shape[1]:]


def run_peft(args, folder, setup):
    server = PeftServer(args, folder, setup)
    rows, G = len(server.rows), args.new_tokens
    ids = prompt_ids(rows, args.prompt_len, setup["vocab"], args.device)
    one = [ids[r:r + 1] for r in range(rows)]
    generated = []

    def per_adapter_generate():
        generated.clear()
        generated.extend(server.generate(server.rows[r], one[r], G)[0].tolist() for r in range(rows))

    time_of = lambda fn: median_time(fn, args.device, args.peft_repeats)  # noqa: E731
    figures = {
        "logits_single": time_of(lambda: server.logits(server.rows[0], ids)),
        "logits_per_adapter": time_of(lambda: [server.logits(server.rows[r], one[r]) for r in range(rows)]),
        "generate_single": time_of(lambda: server.generate(server.rows[0], ids, G)),
        "generate_per_adapter": time_of(per_adapter_generate),
        "ttft_prompt": time_of(lambda: server.generate(server.ttft, one[0], 1)),
        "ttft_mixed": time_of(lambda: [server.generate(server.rows[r], one[r], 1) for r in range(rows)]),
    }
    return figures, generated


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--adapters", type=int, default=64)
    parser.add_argument("--prompt-len", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--peft-repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--rows-per-worker", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--ttft-tokens", type=int, default=100)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("serving, cuda: skipped (no GPU visible to torch)")
        return 0
    torch.set_num_threads(args.threads)
    busy_before = busy_cores()
    started = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="sp-serving-") as folder:
        ours = run_ours(args, folder)
        setup = ours[("setup", "", 0)]
        theirs, peft_ids = run_peft(args, folder, setup)
    A, G = setup["rows"], args.new_tokens
    mine = lambda part, case, workers=0: ours[(part, case, workers)]["seconds"]  # noqa: E731

    # Rates: rows/s for logits, generated tokens/s for generation (prefill included).
    single_logits = A / min(mine("logits", "single_row_adapters"), mine("logits", "single_adapter_call"))
    mixed_logits = A / mine("logits", "mixed")
    peft_logits = A / theirs["logits_per_adapter"]
    single_generate = A * G / min(mine("generate", "single_context_adapter"), mine("generate", "single_row_adapters"))
    mixed_generate = A * G / mine("generate", "mixed")
    peft_generate = A * G / theirs["generate_per_adapter"]

    kinds = [adapter["kind"] for adapter in setup["adapters"]]
    mix = ", ".join(f"{kinds.count(kind)} {kind}" for kind in dict.fromkeys(kinds))
    print(f"== serving {A} adapters, {setup['model_type']} {setup['layers']} layers x {setup['hidden']}, "
          f"{args.device} {args.dtype}, {args.threads} threads each side ({cpu_name()}, {os.cpu_count()} cores, "
          f"{busy_before:.1f} of them busy just before the run); adapters: {mix} (8..32 virtual tokens, mpt with "
          f"{setup['mpt_tasks']} tasks), row r with adapter r; {args.prompt_len}-token prompts, {G} new tokens, "
          f"greedy; median of {args.repeats} (softprompt) / {args.peft_repeats} (PEFT) after 1 warm-up")
    print(f"{'workload':58}{'softprompt':>16}{'PEFT':>16}")
    rows = [
        (f"logits, 1 adapter, {A} rows in 1 call (row_adapters)", A / mine("logits", "single_row_adapters"),
         A / theirs["logits_single"], "rows/s"),
        (f"logits, 1 adapter, {A} rows in 1 call (sp_adapter_logits)", A / mine("logits", "single_adapter_call"), None,
         "rows/s"),
        (f"logits, {A} adapters, 1 call (mixed rows)", mixed_logits, None, "rows/s"),
        (f"logits, {A} adapters, {A} calls of 1 row", A / mine("logits", "per_adapter"), peft_logits, "rows/s"),
        (f"generate, 1 adapter, {A} rows in 1 call (context adapter)",
         A * G / mine("generate", "single_context_adapter"), A * G / theirs["generate_single"], "tok/s"),
        (f"generate, 1 adapter, {A} rows in 1 call (prompts.adapters)",
         A * G / mine("generate", "single_row_adapters"), None, "tok/s"),
        (f"generate, {A} adapters, 1 call (mixed rows)", mixed_generate, None, "tok/s"),
        (f"generate, {A} adapters, {A} calls of 1 row", A * G / mine("generate", "per_adapter"), peft_generate,
         "tok/s"),
    ]
    for label, ours_rate, peft_rate, unit in rows:
        peft_text = f"{peft_rate:.1f} {unit:6}" if peft_rate is not None else "-     "
        print(f"{label:58}{ours_rate:>9.1f} {unit:6}{peft_text:>16}")

    # Where a one-call generation's time goes: its first token (the call with max_new_tokens 1) and the mean
    # decode step after it.
    steps = []
    for case, label in (("single_context_adapter", "1 adapter (context)"),
                        ("single_row_adapters", "1 adapter (prompts.adapters)"), ("mixed", f"{A} adapters")):
        record = ours[("generate", case, 0)]
        steps.append(f"{label} {record['first_token_s'] * 1e3:.0f} + {record['decode_step_s'] * 1e3:.1f}")
    print(f"  softprompt's one-call generations, first token + each decode step (ms): {'; '.join(steps)}")

    ttft = lambda case: mine("ttft", case) * 1e3  # noqa: E731
    print(f"time to first token{'':39}{'softprompt':>16}{'PEFT':>16}")
    print(f"{'1 prompt, ' + str(args.ttft_tokens) + ' virtual tokens, compiled prompt':58}"
          f"{ttft('prompt_compiled'):>11.1f} ms{theirs['ttft_prompt'] * 1e3:>13.1f} ms")
    print(f"{'  the same, prompt recomputed in every prefill':58}{ttft('prompt_recomputed'):>11.1f} ms")
    print(f"{'  the same, a new adapter first call (compiles)':58}{ttft('prompt_first_call'):>11.1f} ms")
    print(f"{str(A) + ' mixed rows, compiled prompts (PEFT: ' + str(A) + ' calls)':58}"
          f"{ttft('mixed_compiled'):>11.1f} ms{theirs['ttft_mixed'] * 1e3:>13.1f} ms")
    print(f"{'  the same, prompts recomputed in every prefill':58}{ttft('mixed_recomputed'):>11.1f} ms")

    workers = [int(w) for w in args.workers.split(",")]
    rates = [ours[("threads", "mixed", w)]["tokens_per_s"] for w in workers]
    print(f"worker threads, each its own context, {args.rows_per_worker} mixed rows x {G} tokens, {args.rounds} "
          f"calls each, 1 intra-op thread each (PEFT: not measured, see above)")
    for w, rate in zip(workers, rates):
        print(f"{'  ' + str(w) + ' thread' + ('s' if w > 1 else ''):58}{rate:>9.1f} tok/s  "
              f"({rate / rates[0]:.2f}x the rate of {workers[0]})")

    def verdict(value, goal):
        return f">= {goal:g} ({'met' if value >= goal else 'not met'})"

    print(f"{'ratio':58}{'value':>9}  goal")
    ratios = [
        ("logits: mixed / one adapter (the faster single case)", mixed_logits / single_logits, GOAL_SINGLE),
        ("logits: mixed / PEFT one batch per adapter", mixed_logits / peft_logits, GOAL_PEFT),
        ("generate: mixed / one adapter (the faster single case)", mixed_generate / single_generate, GOAL_SINGLE),
        ("generate: mixed / PEFT one batch per adapter", mixed_generate / peft_generate, GOAL_PEFT),
        ("TTFT 1 prompt: recomputed / compiled", ttft("prompt_recomputed") / ttft("prompt_compiled"), None),
        (f"TTFT {A} mixed rows: recomputed / compiled", ttft("mixed_recomputed") / ttft("mixed_compiled"), None),
        (f"TTFT {A} mixed rows: PEFT / ours (compiled)", theirs["ttft_mixed"] * 1e3 / ttft("mixed_compiled"), None),
        (f"threads: {workers[-1]} / {workers[0]} (tokens/s)", rates[-1] / rates[0], None),
    ]
    for label, value, goal in ratios:
        print(f"{label:58}{value:>9.2f}  {verdict(value, goal) if goal else ''}".rstrip())

    mixed_ids = ours.get(("ids", "mixed", 0), {}).get("ids", [])
    same = sum(a == b for a, b in zip(mixed_ids, peft_ids))
    distinct = len({token for row in mixed_ids for token in row})
    print(f"check: greedy tokens of our mixed call identical to PEFT's per-adapter generate in {same} of {A} rows "
          f"({distinct} distinct ids among ours)")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
