"""softprompt vs PEFT on an encoder-decoder model (T5, SEQ_2_SEQ_LM): training steps and greedy generation,
same model folder, batches, prompts and threads, in one run.

  python compare_seq2seq.py --bench build/bench/bench_seq2seq --model MODEL_FOLDER [--threads 2] [--tokens 20]
         [--train-methods prompt,prefix] [--batch 8] [--seq-len 128] [--decoder-len 32] [--steps 8]
         [--generate-methods prompt] [--generate-batches 1,8] [--prompt-len 64] [--new-tokens 32]
         [--repeats 5] [--peft-repeats 5]

MODEL_FOLDER is written first when it has no config.json: a random T5 with t5-small's shape (d_model 512, d_kv 64,
8 heads, d_ff 2048, 6 + 6 layers, vocabulary 32128, relu, tied embeddings; 60.5M parameters), from
T5ForConditionalGeneration(T5Config(...)).save_pretrained after torch.manual_seed(0). No tokenizer: none is needed.

Workloads, each run by bench_seq2seq (our C API, a subprocess) and then by PEFT in this process:
  train     batch x seq-len encoder ids, batch x decoder-len decoder targets (no padding; the decoder reads the
            targets shifted right), n virtual tokens; one warm-up step, then the mean of --steps steps (forward,
            backward, AdamW lr 1e-3). PEFT: get_peft_model(model, <method>Config(task_type=SEQ_2_SEQ_LM,
            num_virtual_tokens=n)), the model in eval mode (no dropout, as softprompt's frozen model).
  generate  batch prompts of prompt-len ids, greedy, exactly new-tokens tokens per row (ours: no end-of-sequence
            stop; PEFT: generate(do_sample=False, num_beams=1, max_new_tokens=G, min_new_tokens=G)); one warm-up
            call, then the best of the repeats; the encoder pass is included.
Both sides use --threads CPU threads (torch.set_num_threads here; sp_set_num_threads, OMP_NUM_THREADS and
MKL_NUM_THREADS for the subprocess). Both adapters start from seed 0 (torch.manual_seed(0) before get_peft_model),
so they start from the same soft prompt: the first training step's losses must agree, and so should the greedy
tokens unless the random model's logits are close to a tie (a weak check: this random T5 keeps choosing one id, its
decoder start id); both are printed below the table. The timings do not depend on the tokens chosen. The header
line gives the cores other processes kept busy just before the run: they slow either side's thread pool far more
than their share, so figures taken on a busy machine are not comparable.

Table: method, workload, ours, PEFT, ratio (ours' speed / PEFT's speed; above 1 means softprompt is faster).
Benchmark tool only: the library never runs Python.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import warnings

import torch
from peft import (MultitaskPromptTuningConfig, PrefixTuningConfig, PromptEncoderConfig, PromptTuningConfig, TaskType,
                  get_peft_model)
from transformers import T5Config, T5ForConditionalGeneration

# PEFT 0.21.2's prefix-tuning generate on transformers 5.24 drops the prefix unless the cache reaches it under its old
# name (tests/reference/peft_generate_cache.py); prompt tuning's generate does not need it.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from peft_generate_cache import pass_cache_under_its_old_name  # noqa: E402

warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=UserWarning)

T5_SMALL = dict(d_model=512, d_kv=64, num_heads=8, d_ff=2048, num_layers=6, num_decoder_layers=6, vocab_size=32128,
                feed_forward_proj="relu", tie_word_embeddings=True, pad_token_id=0, eos_token_id=1,
                decoder_start_token_id=0)


def write_model(folder):
    torch.manual_seed(0)
    T5ForConditionalGeneration(T5Config(**T5_SMALL)).save_pretrained(folder)


def ids(batch, length, vocab, offset=0):
    """The same ids as bench_seq2seq.c: (row * 31 + position * 7 + offset) % (vocab - 3) + 3."""
    rows = torch.arange(batch).unsqueeze(1)
    positions = torch.arange(length).unsqueeze(0)
    return (rows * 31 + positions * 7 + offset) % (vocab - 3) + 3


def peft_model_for(args, method):
    model = T5ForConditionalGeneration.from_pretrained(args.model, dtype=torch.float32)
    model.eval()
    common = dict(task_type=TaskType.SEQ_2_SEQ_LM, num_virtual_tokens=args.tokens)
    config = {"prompt": lambda: PromptTuningConfig(**common),
              "prefix": lambda: PrefixTuningConfig(**common),
              "ptuning-mlp": lambda: PromptEncoderConfig(**common, encoder_hidden_size=model.config.d_model),
              "mpt": lambda: MultitaskPromptTuningConfig(**common, num_tasks=2)}[method]()
    torch.manual_seed(0)  # softprompt's adapter seed 0: the same starting soft prompt
    peft_model = get_peft_model(model, config)
    if method == "prefix":
        pass_cache_under_its_old_name(peft_model)
    return peft_model, model.config.vocab_size


def peft_train(args, method):
    peft_model, vocab = peft_model_for(args, method)
    inputs = {"input_ids": ids(args.batch, args.seq_len, vocab), "labels": ids(args.batch, args.decoder_len, vocab, 5)}
    if method == "mpt":
        inputs["task_ids"] = torch.arange(args.batch) % 2
    optimizer = torch.optim.AdamW(peft_model.parameters(), lr=1e-3, weight_decay=0.01)

    def step():
        loss = peft_model(**inputs).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    first_loss = step()  # warm-up
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    return {"train_step_s": (time.perf_counter() - start) / args.steps, "loss": first_loss}


def peft_generate(args, method, batch):
    peft_model, vocab = peft_model_for(args, method)
    prompts = ids(batch, args.prompt_len, vocab)
    extra = {"task_ids": torch.arange(batch) % 2} if method == "mpt" else {}

    def generate():
        with torch.no_grad():
            out = peft_model.generate(input_ids=prompts, attention_mask=torch.ones_like(prompts), do_sample=False,
                                      num_beams=1, max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens,
                                      **extra)
        # The decoder's start token, then exactly new_tokens tokens per row.
        if out.shape != (batch, 1 + args.new_tokens):
            sys.exit(f"PEFT generate returned shape {tuple(out.shape)}")
        return out[:, 1:]

    generated = generate()  # warm-up
    best = float("inf")
    for _ in range(args.peft_repeats):
        start = time.perf_counter()
        generated = generate()
        best = min(best, time.perf_counter() - start)
    return {"generate_s": best, "ids": generated.tolist()}


def ours(args, *arguments):
    command = [args.bench, args.model, *[str(a) for a in arguments], str(args.threads)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    run = subprocess.run(command, capture_output=True, text=True, env=env)
    if run.returncode != 0:
        sys.exit(f"{' '.join(command)}: failed ({run.returncode}): {(run.stderr or run.stdout).strip()}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def busy_cores(seconds=2.0):
    """Cores' worth of CPU time other processes used over `seconds` (from /proc/stat), before the run starts."""
    def sample():
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:8]]
        return sum(values), values[3] + values[4]  # total, idle + iowait

    total_before, idle_before = sample()
    time.sleep(seconds)
    total_after, idle_after = sample()
    busy = 1 - (idle_after - idle_before) / max(total_after - total_before, 1)
    return busy * os.cpu_count()


def cpu_name():
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--train-methods", default="prompt,prefix")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--decoder-len", type=int, default=32)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--generate-methods", default="prompt")
    parser.add_argument("--generate-batches", default="1,8")
    parser.add_argument("--prompt-len", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--peft-repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not os.path.isfile(os.path.join(args.model, "config.json")):
        write_model(args.model)
    busy_before = busy_cores()
    started = time.perf_counter()

    rows, checks = [], []
    for method in filter(None, args.train_methods.split(",")):
        mine = ours(args, "train", method, args.batch, args.seq_len, args.decoder_len, args.tokens, args.steps)
        theirs = peft_train(args, method)
        workload = f"train {args.batch}x{args.seq_len} -> {args.decoder_len}"
        rows.append((method, workload, f"{mine['train_step_s'] * 1e3:.0f} ms/step",
                     f"{theirs['train_step_s'] * 1e3:.0f} ms/step", theirs["train_step_s"] / mine["train_step_s"]))
        checks.append(f"{method} {workload}: first-step loss {mine['loss']:.5f} (ours) vs {theirs['loss']:.5f} (PEFT)")
    for method in filter(None, args.generate_methods.split(",")):
        for batch in (int(b) for b in args.generate_batches.split(",")):
            mine = ours(args, "generate", method, batch, args.prompt_len, args.new_tokens, args.tokens, args.repeats)
            theirs = peft_generate(args, method, batch)
            tokens = batch * args.new_tokens
            workload = f"generate B={batch}, {args.prompt_len} -> {args.new_tokens}"
            rows.append((method, workload, f"{tokens / mine['generate_s']:.1f} tok/s",
                         f"{tokens / theirs['generate_s']:.1f} tok/s", theirs["generate_s"] / mine["generate_s"]))
            same = sum(a == b for a, b in zip(mine["ids"], theirs["ids"]))
            distinct = sorted({token for row in mine["ids"] for token in row})
            weak = (f" (a weak check: every token is one of {distinct}, a random model's tokens repeat)"
                    if len(distinct) <= 2 else "")
            checks.append(f"{method} {workload}: greedy tokens identical in {same} of {batch} rows{weak}")

    # Other processes' CPU use just before the run is printed because they slow a 2-thread pool on either side by
    # far more than their share (its threads wait on each other): several times over on a 2-core machine.
    print(f"== T5 (SEQ_2_SEQ_LM), t5-small shape, random weights, float32 CPU, {args.threads} threads each side "
          f"({cpu_name()}, {os.cpu_count()} cores, {busy_before:.1f} of them busy just before the run); "
          f"{args.tokens} virtual tokens; training: mean of {args.steps} steps after 1 warm-up; generation: greedy, "
          f"best of {args.repeats} (ours) / {args.peft_repeats} (PEFT) after 1 warm-up")
    print(f"{'method':10}{'workload':28}{'ours':>16}{'PEFT':>16}{'ratio':>8}")
    for method, workload, mine, theirs, ratio in rows:
        print(f"{method:10}{workload:28}{mine:>16}{theirs:>16}{ratio:8.2f}")
    for line in checks:
        print("check: " + line)
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
