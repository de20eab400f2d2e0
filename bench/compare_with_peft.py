"""softprompt vs PEFT: prompt-tuning training step and forward pass on the same model and batch.

Runs bench_prompt_tuning (our C API) as a subprocess, then PEFT in this process on the same model
folder, batch and number of virtual tokens, and prints tokens per second for both and the ratio
(ours / PEFT; above 1 means softprompt is faster). Benchmark tool only: the library never runs Python.

  python compare_with_peft.py --bench build/bench/bench_prompt_tuning --model MODEL_FOLDER
                              [--batch 8] [--seq-len 128] [--tokens 20] [--steps 10] [--device cpu|cuda]
                              [--dtype float32|bfloat16]
"""
import argparse
import json
import subprocess
import sys
import time

import torch
from peft import PromptTuningConfig, TaskType, get_peft_model
from transformers import AutoModelForCausalLM

WARMUP = 3


def synchronize(device):
    if device == "cuda":
        torch.cuda.synchronize()


def peft_timings(args):
    dtype = torch.bfloat16 if args.dtype == "bfloat16" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype, attn_implementation="sdpa").to(args.device)
    model.eval()  # no dropout, like softprompt's frozen model
    peft_model = get_peft_model(model, PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=args.tokens))
    vocab = model.config.vocab_size
    rows = torch.arange(args.batch).unsqueeze(1)
    positions = torch.arange(args.seq_len).unsqueeze(0)
    ids = ((rows * 31 + positions * 7) % (vocab - 3) + 3).to(args.device)
    optimizer = torch.optim.AdamW(peft_model.parameters(), lr=3e-2, weight_decay=0.01)

    def train_step():
        loss = peft_model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def forward():
        with torch.no_grad():
            peft_model(input_ids=ids, labels=ids).loss.item()

    result = {}
    for name, fn in (("train_step_s", train_step), ("forward_s", forward)):
        for _ in range(WARMUP):
            fn()
        synchronize(args.device)
        start = time.perf_counter()
        for _ in range(args.steps):
            fn()
        synchronize(args.device)
        result[name] = (time.perf_counter() - start) / args.steps
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    args = parser.parse_args()

    command = [args.bench, args.model, str(args.batch), str(args.seq_len), str(args.tokens), str(args.steps),
               args.device, args.dtype]
    ours = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    peft = peft_timings(args)

    tokens = args.batch * args.seq_len
    print(f"prompt tuning, {args.device} {args.dtype}, torch threads {torch.get_num_threads()}, batch {args.batch} x "
          f"{args.seq_len} tokens, {args.tokens} virtual tokens, {args.steps} timed steps after {WARMUP} warm-up")
    print(f"{'':14}{'softprompt tok/s':>18}{'PEFT tok/s':>14}{'ratio':>8}")
    for label, key in (("train step", "train_step_s"), ("forward", "forward_s")):
        ours_rate, peft_rate = tokens / ours[key], tokens / peft[key]
        print(f"{label:14}{ours_rate:18.1f}{peft_rate:14.1f}{ours_rate / peft_rate:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
