"""One table of the training benchmark's rows (the JSON lines compare_training.py --json appends),
with the goals of the speed issue checked against them:

  - training step at least 1.3x PEFT's tokens/s for every method (fixed-length rows);
  - variable-length rows: at least 2x PEFT's real tokens/s;
  - at least 75% of the measured GEMM ceiling (CPU) or 50% of the dense peak (GPU), training step;
  - the memory a training step adds at most 0.7x PEFT's.

  python training_table.py ROWS.jsonl
"""
import json
import sys


def main():
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    if not rows:
        print("no training rows")
        return 1
    print()
    print("== training: softprompt / PEFT (ratios above 1: softprompt faster or, for memory, larger)")
    print(f"{'case':34}{'method':18}{'train':>7}{'fwd':>7}{'FLOP% ours':>11}{'PEFT':>6}{'memory':>8}  goals missed")
    for row in rows:
        missed = []
        varied = bool(row.get("varied_lengths"))
        speed_goal = 2.0 if varied else 1.3
        if row["train_ratio"] < speed_goal:
            missed.append(f"speed < {speed_goal}x")
        ceiling_goal = 0.5 if row["device"] == "cuda" else 0.75
        if row["train_ceiling_fraction"] < ceiling_goal and "tiny" not in row["label"]:
            missed.append(f"FLOP < {ceiling_goal:.0%}")
        memory = row.get("memory_ratio")
        if memory is not None and memory > 0.7:
            missed.append("memory > 0.7x")
        memory_text = "n/a" if memory is None else f"{memory:.2f}"
        print(f"{row['label'][:33]:34}{row['method']:18}{row['train_ratio']:7.2f}{row['forward_ratio']:7.2f}"
              f"{100 * row['train_ceiling_fraction']:10.0f}%{100 * row['peft_train_ceiling_fraction']:5.0f}%"
              f"{memory_text:>8}  {', '.join(missed) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
