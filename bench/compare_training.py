"""softprompt vs PEFT: training step and forward pass of every soft-prompt method, same model, batches
and threads, in one run.

For each method it runs bench_training (our C API) and then PEFT, each in its own process (so that
each one's memory is its own), and prints, per method: tokens per second of both and the ratio
(ours / PEFT; above 1 means softprompt is faster), the FLOP rate of both as a fraction of this
machine's ceiling, and the memory a training step adds to the loaded model on both sides.

  python compare_training.py --bench build/bench/bench_training --model MODEL_FOLDER
         [--methods prompt,prefix,...] [--batch 8] [--seq-len 128] [--tokens 20] [--steps 5]
         [--device cpu|cuda] [--dtype float32|bfloat16] [--threads 2] [--varied-lengths MIN,MAX]
         [--label TEXT] [--json FILE]

Tokens are the caller's real (non-padding) tokens. --varied-lengths draws each row's length
uniformly from MIN..MAX (seeded, the same rows on both sides); PEFT's batches are right-padded to
their longest row, as transformers' data collators pad them.

FLOPs counted per real token (the same count for both sides, whatever either computes): a training
step 4 per matrix parameter the token passes through (forward 2, activation gradients 2; the frozen
weights get no gradient), a forward pass 2, plus attention: 4 * heads * head_dim per key a query
sees per layer (QK^T and AV), three times that in a training step (the backward has twice the
forward's products). Virtual tokens' own work is not counted: it is overhead. The ceiling is a
measured GEMM rate on the same threads (CPU) or the device's nominal dense peak for the dtype (GPU).

Memory: CPU, the peak resident set size during the training steps minus the resident size before
them (the loaded model, libraries and interpreter do not count); GPU, PyTorch's allocator peak minus
what was allocated before the steps (ours reads the same figures through sp_memory_get_stats).
Benchmark tool only: the library never runs Python.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time

METHODS = ["prompt", "prefix", "prefix-projection", "ptuning-mlp", "ptuning-lstm", "mpt"]
WARMUP = 2
# Nominal dense tensor-core peaks (FLOP/s) by device name fragment, bfloat16 and float32 (TF32 off:
# CUDA cores). From the vendors' data sheets (SXM parts).
GPU_PEAKS = {"H200": {"bfloat16": 989e12, "float32": 67e12}, "H100": {"bfloat16": 989e12, "float32": 67e12},
             "A100": {"bfloat16": 312e12, "float32": 19.5e12}}


def proc_status_bytes(key):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return -1


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass


def row_lengths(args):
    """Row lengths for every group of the run, as one flat list; None for fixed-length batches."""
    if not args.varied_lengths:
        return None
    low, high = (int(value) for value in args.varied_lengths.split(","))
    draw = random.Random(1234)
    return [draw.randint(low, high) for _ in range(args.batch * args.groups)]


def peft_config(method, tokens, hidden):
    from peft import (MultitaskPromptTuningConfig, PrefixTuningConfig, PromptEncoderConfig,
                      PromptEncoderReparameterizationType, PromptTuningConfig, TaskType)
    common = dict(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=tokens)
    if method == "prompt":
        return PromptTuningConfig(**common)
    if method in ("prefix", "prefix-projection"):
        return PrefixTuningConfig(**common, prefix_projection=method == "prefix-projection", encoder_hidden_size=hidden)
    if method in ("ptuning-mlp", "ptuning-lstm"):
        kind = PromptEncoderReparameterizationType.LSTM if method == "ptuning-lstm" else \
            PromptEncoderReparameterizationType.MLP
        return PromptEncoderConfig(**common, encoder_reparameterization_type=kind, encoder_hidden_size=hidden)
    return MultitaskPromptTuningConfig(**common, num_tasks=2)


def peft_worker(args):
    """PEFT's timings and memory for one method, in this process; prints one JSON line."""
    import torch
    from transformers import AutoModelForCausalLM
    from peft import get_peft_model

    torch.set_num_threads(args.threads)
    cuda = args.device == "cuda"
    dtype = torch.bfloat16 if args.dtype == "bfloat16" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype, attn_implementation="sdpa").to(args.device)
    model.eval()  # no dropout, like softprompt's frozen model
    peft_model = get_peft_model(model, peft_config(args.method, args.tokens, model.config.hidden_size))
    vocab = model.config.vocab_size
    lengths = row_lengths(args)
    groups = []
    for group in range(args.groups if lengths else 1):
        rows = lengths[group * args.batch:(group + 1) * args.batch] if lengths else [args.seq_len] * args.batch
        width = max(rows)
        row_index = torch.arange(args.batch).unsqueeze(1)
        column = torch.arange(width).unsqueeze(0)
        ids = (row_index * 31 + column * 7) % (vocab - 3) + 3
        real = column < torch.tensor(rows).unsqueeze(1)
        inputs = {"input_ids": ids.masked_fill(~real, 0).to(args.device),
                  "labels": ids.masked_fill(~real, -100).to(args.device)}
        if lengths:
            inputs["attention_mask"] = real.long().to(args.device)
        if args.method == "mpt":
            inputs["task_ids"] = (torch.arange(args.batch) % 2).to(args.device)
        groups.append(inputs)
    optimizer = torch.optim.AdamW(peft_model.parameters(), lr=1e-3, weight_decay=0.01)

    def synchronize():
        if cuda:
            torch.cuda.synchronize()

    def train_step(inputs):
        loss = peft_model(**inputs).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def forward(inputs):
        with torch.no_grad():
            peft_model(**inputs).loss.item()

    def timed(fn):
        for i in range(WARMUP):
            fn(groups[i % len(groups)])
        synchronize()
        start = time.perf_counter()
        for i in range(args.steps):
            fn(groups[i % len(groups)])
        synchronize()
        return (time.perf_counter() - start) / args.steps

    result = {}
    if cuda:
        synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        result["train_step_s"] = timed(train_step)
        result["train_memory"] = torch.cuda.max_memory_allocated() - before
    else:
        before = proc_status_bytes("VmRSS")
        reset_peak_rss()
        result["train_step_s"] = timed(train_step)
        result["train_memory"] = proc_status_bytes("VmHWM") - before
    result["forward_s"] = timed(forward)
    print(json.dumps(result))


def our_run(args, method, lengths):
    command = [args.bench, args.model, method, str(args.batch), str(args.seq_len), str(args.tokens), str(args.steps),
               args.device, args.dtype, str(args.threads)]
    if lengths:
        command.append(",".join(str(length) for length in lengths))
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:10])}: {completed.stderr.strip()}")
    ours = json.loads(completed.stdout.strip().splitlines()[-1])
    ours["train_memory"] = ours["train_peak_bytes"] - ours["loaded_bytes"]
    return ours


def peft_run(args, method):
    command = [sys.executable, os.path.abspath(__file__), "--peft-worker", "--method", method]
    for name in ("bench", "model", "batch", "seq_len", "tokens", "steps", "device", "dtype", "threads", "groups"):
        command += ["--" + name.replace("_", "-"), str(getattr(args, name))]
    if args.varied_lengths:
        command += ["--varied-lengths", args.varied_lengths]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"PEFT {method}: {completed.stderr.strip()[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def model_shape(folder):
    with open(os.path.join(folder, "config.json")) as file:
        config = json.load(file)
    hidden = config.get("hidden_size", config.get("n_embd"))
    layers = config.get("num_hidden_layers", config.get("n_layer"))
    heads = config.get("num_attention_heads", config.get("n_head"))
    kv_heads = config.get("num_key_value_heads", heads)
    head_dim = config.get("head_dim") or hidden // heads
    intermediate = config.get("intermediate_size") or config.get("n_inner") or 4 * hidden
    gated = config.get("model_type") != "gpt2"
    block = hidden * heads * head_dim * 2 + hidden * kv_heads * head_dim * 2 + (3 if gated else 2) * hidden * intermediate
    return {"matrix_parameters": layers * block + config["vocab_size"] * hidden, "layers": layers,
            "attention_width": heads * head_dim}


def step_flops(shape, lengths, batch, seq_len, tokens, training):
    """FLOPs of one step by the module docstring's count, averaged over the run's groups."""
    rows = lengths or [seq_len] * batch
    groups = len(rows) // batch
    per_parameter, attention_passes = (4, 3) if training else (2, 1)
    total = 0
    for length in rows:
        keys_seen = length * tokens + length * (length + 1) // 2  # query j sees tokens + j + 1 keys
        total += per_parameter * shape["matrix_parameters"] * length
        total += attention_passes * shape["layers"] * 4 * shape["attention_width"] * keys_seen
    return total / groups


def ceiling(args):
    """FLOP/s this machine's matrix products reach: CPU, a measured 2048^3 GEMM on the same threads;
    GPU, the nominal dense peak of the device (measured GEMM printed beside it)."""
    import torch
    torch.set_num_threads(args.threads)
    dtype = torch.bfloat16 if args.dtype == "bfloat16" else torch.float32
    size = 4096 if args.device == "cuda" else 2048
    a = torch.randn(size, size, dtype=dtype, device=args.device)
    b = torch.randn(size, size, dtype=dtype, device=args.device)
    best = float("inf")
    for _ in range(5 if args.device == "cpu" else 20):
        if args.device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        torch.mm(a, b)
        if args.device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    measured = 2 * size ** 3 / best
    if args.device == "cuda":
        name = torch.cuda.get_device_name(0)
        for fragment, peaks in GPU_PEAKS.items():
            if fragment in name:
                return peaks[args.dtype], f"{name}: nominal dense peak {peaks[args.dtype] / 1e12:.0f} TFLOP/s " \
                                          f"({args.dtype}); measured {size}^3 GEMM {measured / 1e12:.0f} TFLOP/s"
        return measured, f"{name}: measured {size}^3 GEMM {measured / 1e12:.0f} TFLOP/s (no nominal peak known)"
    return measured, f"measured {size}^3 float32 GEMM on {args.threads} threads: {measured / 1e9:.0f} GFLOP/s"


def mib(value):
    return "n/a" if value is None or value < 0 else f"{value / 2 ** 20:.0f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--method", help=argparse.SUPPRESS)
    parser.add_argument("--peft-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--groups", type=int, default=4, help="distinct batches of varied lengths")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--varied-lengths", help="MIN,MAX row lengths, uniform")
    parser.add_argument("--label", default="")
    parser.add_argument("--json", help="append the rows as JSON lines to this file")
    args = parser.parse_args()
    if args.peft_worker:
        peft_worker(args)
        return 0

    lengths = row_lengths(args)
    shape = model_shape(args.model)
    peak, peak_text = ceiling(args)
    shape_text = (f"{args.batch} rows of {args.varied_lengths.replace(',', '..')} tokens" if lengths else
                  f"{args.batch} x {args.seq_len} tokens")
    print(f"== training, {args.label or os.path.basename(args.model)} "
          f"({shape['matrix_parameters'] / 1e6:.1f}M matrix parameters), {args.device} {args.dtype}, "
          f"{args.threads} threads, {shape_text}, {args.tokens} virtual tokens, {args.steps} timed steps after "
          f"{WARMUP} warm-up")
    print(f"   ceiling: {peak_text}")
    header = (f"{'method':18}{'train tok/s':>12}{'PEFT':>10}{'ratio':>7}{'fwd tok/s':>11}{'PEFT':>10}{'ratio':>7}"
              f"{'FLOP%':>7}{'PEFT':>6}{'MiB':>7}{'PEFT':>7}{'ratio':>7}")
    print(header)
    rows = []
    for method in args.methods.split(","):
        ours = our_run(args, method, lengths)
        peft = peft_run(args, method)
        real_tokens = ours["real_tokens"]
        train_flops = step_flops(shape, lengths, args.batch, args.seq_len, args.tokens, True)
        forward_flops = step_flops(shape, lengths, args.batch, args.seq_len, args.tokens, False)
        row = {"label": args.label, "method": method, "device": args.device, "dtype": args.dtype,
               "threads": args.threads, "batch": args.batch, "seq_len": args.seq_len,
               "varied_lengths": args.varied_lengths,
               "train_tok_s": real_tokens / ours["train_step_s"], "peft_train_tok_s": real_tokens / peft["train_step_s"],
               "forward_tok_s": real_tokens / ours["forward_s"], "peft_forward_tok_s": real_tokens / peft["forward_s"],
               "train_ceiling_fraction": train_flops / ours["train_step_s"] / peak,
               "peft_train_ceiling_fraction": train_flops / peft["train_step_s"] / peak,
               "forward_ceiling_fraction": forward_flops / ours["forward_s"] / peak,
               "train_memory": ours["train_memory"], "peft_train_memory": peft["train_memory"]}
        row["train_ratio"] = row["train_tok_s"] / row["peft_train_tok_s"]
        row["forward_ratio"] = row["forward_tok_s"] / row["peft_forward_tok_s"]
        row["memory_ratio"] = (row["train_memory"] / row["peft_train_memory"]
                               if row["train_memory"] is not None and row["peft_train_memory"] > 0 else None)
        rows.append(row)
        memory_ratio = "n/a" if row["memory_ratio"] is None else f"{row['memory_ratio']:.2f}"
        print(f"{method:18}{row['train_tok_s']:12.0f}{row['peft_train_tok_s']:10.0f}{row['train_ratio']:7.2f}"
              f"{row['forward_tok_s']:11.0f}{row['peft_forward_tok_s']:10.0f}{row['forward_ratio']:7.2f}"
              f"{100 * row['train_ceiling_fraction']:6.0f}%{100 * row['peft_train_ceiling_fraction']:5.0f}%"
              f"{mib(row['train_memory']):>7}{mib(row['peft_train_memory']):>7}{memory_ratio:>7}", flush=True)
    if args.json:
        with open(args.json, "a") as out:
            for row in rows:
                out.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
