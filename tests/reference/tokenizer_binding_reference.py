#!/usr/bin/env python3
"""What Hugging Face `tokenizers` gives for the binding tests' texts (Java, C# and Go compare).

    tokenizer_binding_reference.py --tokenizers DIR --models MODELS --out OUT

DIR is the tokenizer_reference fixture's folder (tests/reference/tokenizer_reference.py): the
tokenizers named in NAMES are loaded from DIR/<name>/tokenizer.json with `tokenizers` itself, each
text of TEXTS is encoded and decoded, and the results are written to OUT/expected.tsv, one record
per line, fields separated by tabs; text is written as the hex of its UTF-8 bytes (so that NUL,
tabs and newlines need no escaping), id lists as comma-separated decimals (empty: no ids):

  tokenizer  <name>  <folder>  <vocab size>  <bos>  <eos>  <pad>  <unk>
      vocab size with added tokens; special ids as transformers reads them (DIR/<name>/special_ids.txt),
      -1 = none
  text  <name>  <text>  <ids with special tokens>  <ids without>
        <decode(ids with special tokens, skip_special_tokens=False)>
        <decode(ids with special tokens, skip_special_tokens=True)>
  token  <name>  <id>  <id_to_token(id)>  <token_to_id(that token)>
      for the ids of the first text, and the special ids (token_to_id need not give the id back:
      a normalized added token's string is its normalized content, which token_to_id does not find;
      -1 = None)

It also writes OUT/model-with-tokenizer/: the tiny llama test model (MODELS/llama) with the gpt2
tokenizer.json beside it, for the bindings' Model.tokenizer() tests (recorded as
"model  model-with-tokenizer  gpt2").
"""

import argparse
import os
import shutil

from tokenizers import Tokenizer

# Byte-level BPE, SentencePiece BPE with byte fallback, WordPiece with [CLS]/[SEP], Unigram with </s>.
NAMES = ["gpt2", "llama2", "bert", "t5"]

TEXTS = [
    # Cyrillic, CJK, emoji (a skin-tone modifier and a ZWJ family sequence): the non-ASCII case.
    "Привет, мир! 你好，世界。 Emoji: 👋🏽 👨\u200d👩\u200d👧\u200d👦 ✨",
    "Hello, world",
    # U+0000 inside: the text crosses with its size, not NUL-terminated.
    "nul\x00inside",
    "",
    # What a lone surrogate in a Java or C# string becomes (the bindings replace it with U+FFFD).
    "lone \ufffd here",
    # Long special-token text: decoding it with the special tokens kept gives more than eight bytes
    # per id (the bindings' first guess), so their second call is taken.
    "<|endoftext|>" * 100,
]


def hex_text(text):
    return text.encode("utf-8").hex()


def id_list(ids):
    return ",".join(str(i) for i in ids)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokenizers", required=True, help="the tokenizer_reference fixture's folder")
    parser.add_argument("--models", required=True, help="the tiny test models' folder")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    lines = []
    for name in NAMES:
        folder = os.path.join(args.tokenizers, name)
        tokenizer = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        with open(os.path.join(folder, "special_ids.txt")) as handle:
            specials = [int(value) for value in handle.read().split()]
        lines.append(["tokenizer", name, folder, str(tokenizer.get_vocab_size(with_added_tokens=True))]
                     + [str(value) for value in specials])
        for text in TEXTS:
            with_special = tokenizer.encode(text, add_special_tokens=True).ids
            without = tokenizer.encode(text, add_special_tokens=False).ids
            lines.append(["text", name, hex_text(text), id_list(with_special), id_list(without),
                          hex_text(tokenizer.decode(with_special, skip_special_tokens=False)),
                          hex_text(tokenizer.decode(with_special, skip_special_tokens=True))])
        token_ids = tokenizer.encode(TEXTS[0], add_special_tokens=False).ids
        token_ids += [value for value in specials if value >= 0]
        for token_id in sorted(set(token_ids)):
            token = tokenizer.id_to_token(token_id)
            back = tokenizer.token_to_id(token)
            lines.append(["token", name, str(token_id), hex_text(token), str(-1 if back is None else back)])

    model = os.path.join(args.out, "model-with-tokenizer")
    shutil.rmtree(model, ignore_errors=True)
    shutil.copytree(os.path.join(args.models, "llama"), model)
    shutil.copy(os.path.join(args.tokenizers, "gpt2", "tokenizer.json"), model)
    lines.append(["model", model, "gpt2"])

    with open(os.path.join(args.out, "expected.tsv"), "w", encoding="utf-8") as handle:
        for fields in lines:
            handle.write("\t".join(fields) + "\n")
    print(f"tokenizer_binding_reference: {len(lines)} records for {', '.join(NAMES)} in {args.out}")


if __name__ == "__main__":
    main()
