#!/usr/bin/env python3
"""Encode throughput, softprompt against Hugging Face `tokenizers`, one thread each, in one run, on the
same corpus and the same tokenizer.json (the conformance fixture of tests/reference/tokenizer_reference.py).

    compare_tokenizers.py --bench build/bench/bench_tokenizer --reference build/tests/data/tokenizer_reference
                          [--passes 5] [names ...]

Default names: gpt2 and smollm2 (BPE), bert and minilm (WordPiece), t5 (Unigram). `tokenizers` runs with
RAYON_NUM_THREADS=1 and TOKENIZERS_PARALLELISM=false (set before it is imported), encoding each document
with encode() and the corpus with encode_batch() (its faster figure counts); bench_tokenizer encodes each
document with sp_tokenizer_encode; both take the best of the passes.
Prints MB/s for both and the ratio ours/theirs (above 1: softprompt is faster).
"""

import os

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import re  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from tokenizers import Tokenizer  # noqa: E402

KINDS = {"gpt2": "BPE", "llama3": "BPE", "qwen2": "BPE", "llama2": "BPE", "mistral": "BPE", "roberta": "BPE",
         "smollm2": "BPE", "bert": "WordPiece", "minilm": "WordPiece", "t5": "Unigram", "t5-nfkc": "Unigram"}


def read_corpus(folder):
    """corpus.bin: b"SPTC", u32 version, u32 count, per document: str label, str text (u32 length + UTF-8)."""
    with open(os.path.join(folder, "corpus.bin"), "rb") as handle:
        data = handle.read()
    if data[:4] != b"SPTC":
        sys.exit(f"{folder}/corpus.bin: not a corpus file")
    _, count = struct.unpack_from("<II", data, 4)
    at, texts = 12, []
    for _ in range(count):
        for field in range(2):
            (size,) = struct.unpack_from("<I", data, at)
            at += 4
            if field == 1:
                texts.append(data[at:at + size].decode("utf-8"))
            at += size
    return texts


def theirs(folder, name, texts, passes):
    tokenizer = Tokenizer.from_file(os.path.join(folder, name, "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    total = sum(len(text.encode("utf-8")) for text in texts)
    best = float("inf")
    # Per document with encode(), and the whole corpus with encode_batch() (one Rayon thread: it
    # only saves the per-call Python overhead); their faster figure counts.
    for way in ("encode", "encode_batch"):
        for index in range(passes + 1):  # the first pass warms up and is not counted
            start = time.perf_counter()
            if way == "encode":
                for text in texts:
                    tokenizer.encode(text)
            else:
                tokenizer.encode_batch(texts)
            seconds = time.perf_counter() - start
            if index > 0:
                best = min(best, seconds)
    return total / 1e6 / best


def ours(bench, folder, name, passes):
    result = subprocess.run([bench, folder, name, str(passes)], capture_output=True, text=True)
    if result.returncode != 0:
        return None, (result.stderr or result.stdout).strip()
    match = re.search(r": ([0-9.]+) MB/s", result.stdout)
    return (float(match.group(1)), "") if match else (None, result.stdout.strip())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bench", required=True, help="the bench_tokenizer program")
    parser.add_argument("--reference", required=True, help="the tokenizer_reference fixture folder")
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("names", nargs="*", default=["gpt2", "smollm2", "bert", "minilm", "t5"])
    args = parser.parse_args()
    texts = read_corpus(args.reference)
    size = sum(len(text.encode("utf-8")) for text in texts)
    print(f"encode throughput, one thread, {len(texts)} documents, {size / 1e6:.2f} MB, best of {args.passes} passes")
    print(f"{'tokenizer':12s} {'model':10s} {'softprompt MB/s':>16s} {'tokenizers MB/s':>16s} {'ours/theirs':>12s}")
    for name in args.names:
        our_speed, problem = ours(args.bench, args.reference, name, args.passes)
        their_speed = theirs(args.reference, name, texts, args.passes)
        if our_speed is None:
            print(f"{name:12s} {KINDS.get(name, '?'):10s} {'failed':>16s} {their_speed:16.2f}   ({problem})")
            continue
        print(f"{name:12s} {KINDS.get(name, '?'):10s} {our_speed:16.2f} {their_speed:16.2f} "
              f"{our_speed / their_speed:12.2f}")


if __name__ == "__main__":
    main()
