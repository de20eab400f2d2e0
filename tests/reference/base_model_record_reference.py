#!/usr/bin/env python3
"""Base-model record fixture (tests/c/test_base_model_record.c): one tiny llama written by
transformers as a float32 safetensors folder, its copies (bfloat16 folder, GGUF files in several
types), models that are not it, and the figures the single-file format page
(core/adapters/single_file_format.md) defines, computed here from the files as written.

    base_model_record_reference.py --out DIR

Files written:
  DIR/original/                 LlamaForCausalLM (vocab 320, hidden 64, 2 layers, 4 heads, 2 key/value
                                heads), random weights, float32 (save_pretrained)
  DIR/bf16/                     the same model after model.to(torch.bfloat16).save_pretrained
  DIR/<type>.gguf               the same model converted as llama.cpp's converter does
                                (gguf_model_reference.py), every matrix in <type>: f16, bf16, q8_0,
                                q5_1, q5_0, q4_1, q4_0 (Q4_0 is the coarsest type the gguf package
                                quantizes that softprompt reads; K-quants need rows of 256 values)
  DIR/reseeded/, reseeded-q4_0.gguf   the same family and sizes, other random weights
  DIR/other-size/               a llama with 3 layers; DIR/other-family/ a qwen2 of the same sizes
  DIR/near/, DIR/far/           the original with noise added at exactly the sampled embedding
                                positions, scaled so that the sample differs by 0.55 and 0.65 (just
                                inside and just outside the tolerance 0.6)
  DIR/differences.txt           "<copy> <value>" lines: the relative RMS difference of the copy's
                                sample from the original's, ||copy - original|| / ||original||, as a
                                record trained on the original sees the copy, and "reverse-<copy>"
                                lines, ||original - copy|| / ||copy|| (trained on the copy)
  DIR/fingerprints.txt          "<folder> <hex>" lines: the version-1 record's embedding_fingerprint
                                of each folder's model.safetensors
  DIR/info.txt                  "key value" lines: model_type vocab_size hidden_size num_layers

The sample (format page): 64 evenly spaced rows times 16 evenly spaced columns of the token embedding
as stored, dequantized for GGUF; index i of n over a size s is i * (s - 1) // (n - 1). GGUF values
are read back from the written files with gguf.GGUFReader and gguf.quants.dequantize.
The version-1 fingerprint (format page): FNV-1a 64 over the embedding's safetensors dtype name
("F32", "BF16"), its shape as little-endian int64 values, and the raw bytes of 64 evenly spaced
rows; 16 lowercase hex digits.
"""

import argparse
import copy
import json
import os
import shutil
import struct
import sys

os.environ.setdefault("TQDM_DISABLE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import gguf  # noqa: E402
from gguf import GGMLQuantizationType as Q  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf_model_reference import add_metadata, add_stored, gguf_tensors, randomized, write_info  # noqa: E402

SEED = 20261201
VOCAB, HIDDEN, HEADS, KV_HEADS, LAYERS, INTERMEDIATE = 320, 64, 4, 2, 2, 96
EMBEDDING = "model.embed_tokens.weight"
GGUF_TYPES = [Q.F16, Q.BF16, Q.Q8_0, Q.Q5_1, Q.Q5_0, Q.Q4_1, Q.Q4_0]
SAMPLE_ROWS, SAMPLE_COLUMNS = 64, 16
BOUNDARY = {"near": 0.55, "far": 0.65}


def evenly_spaced(size, count):
    count = min(size, count)
    return [i * (size - 1) // (count - 1) if count > 1 else 0 for i in range(count)]


def sample(embedding):
    rows = evenly_spaced(embedding.shape[0], SAMPLE_ROWS)
    columns = evenly_spaced(embedding.shape[1], SAMPLE_COLUMNS)
    return np.asarray(embedding, dtype=np.float32)[np.ix_(rows, columns)].astype(np.float64)


def relative_difference(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def llama(seed, layers=LAYERS, family="llama"):
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    sizes = dict(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=layers, num_attention_heads=HEADS,
                 num_key_value_heads=KV_HEADS, intermediate_size=INTERMEDIATE, max_position_embeddings=128,
                 rms_norm_eps=1e-5, tie_word_embeddings=False)
    torch.manual_seed(seed)
    if family == "qwen2":
        return randomized(Qwen2ForCausalLM(Qwen2Config(**sizes)), seed)
    return randomized(LlamaForCausalLM(LlamaConfig(**sizes, rope_theta=10000.0)), seed)


def save_folder(model, folder):
    model.save_pretrained(folder)  # model.safetensors in the model's dtype, config.json


# ------------------------------------------------------------------------------------ stored embeddings


def safetensors_entry(folder, name):
    """(dtype name, shape, raw bytes) of one tensor of <folder>/model.safetensors, read by hand."""
    with open(os.path.join(folder, "model.safetensors"), "rb") as handle:
        data = handle.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    entry = header[name]
    begin, end = entry["data_offsets"]
    return entry["dtype"], entry["shape"], data[8 + length + begin:8 + length + end]


def folder_embedding(folder):
    dtype, shape, raw = safetensors_entry(folder, EMBEDDING)
    if dtype == "F32":
        return np.frombuffer(raw, dtype="<f4").reshape(shape)
    if dtype == "BF16":  # the upper half of a float32
        return (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32).reshape(shape)
    sys.exit(f"base_model_record_reference: unexpected dtype {dtype}")


def gguf_embedding(path):
    for tensor in gguf.GGUFReader(path).tensors:
        if tensor.name == "token_embd.weight":
            values = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
            return np.asarray(values, dtype=np.float32).reshape(VOCAB, HIDDEN)
    sys.exit(f"base_model_record_reference: {path} has no token_embd.weight")


def fingerprint(folder):
    """The version-1 record's embedding_fingerprint (format page), from the file's bytes."""
    dtype, shape, raw = safetensors_entry(folder, EMBEDDING)
    state = 0xCBF29CE484222325

    def add(data):
        nonlocal state
        for byte in data:
            state = ((state ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF

    add(dtype.encode())
    for dim in shape:
        add(struct.pack("<q", dim))
    row_bytes = len(raw) // shape[0]
    for row in evenly_spaced(shape[0], 64):
        add(raw[row * row_bytes:(row + 1) * row_bytes])
    return f"{state:016x}"


# ------------------------------------------------------------------------------------ copies


def write_gguf_copy(path, model, qtype):
    writer = gguf.GGUFWriter(path, "llama")
    add_metadata(writer, "llama", model.config, vocab_by_tokens=False)
    for name, data in gguf_tensors("llama", model):
        add_stored(writer, name, data, qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def boundary_copy(model, target, seed):
    """The model with noise at the sampled embedding positions only, scaled so that the sample's
    relative difference is `target`."""
    changed = copy.deepcopy(model)
    with torch.no_grad():
        weight = changed.model.embed_tokens.weight
        rows = evenly_spaced(VOCAB, SAMPLE_ROWS)
        columns = evenly_spaced(HIDDEN, SAMPLE_COLUMNS)
        index = (torch.tensor(rows)[:, None], torch.tensor(columns)[None, :])
        original = weight[index].clone()
        noise = torch.randn(original.shape, generator=torch.Generator().manual_seed(seed))
        weight[index] = original + noise * (target * original.norm() / noise.norm())
    return changed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    out = parser.parse_args().out
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    torch.set_num_threads(2)

    original = llama(SEED)
    save_folder(original, os.path.join(out, "original"))
    save_folder(copy.deepcopy(original).to(torch.bfloat16), os.path.join(out, "bf16"))  # to() works in place
    reseeded = llama(SEED + 1)
    save_folder(reseeded, os.path.join(out, "reseeded"))
    write_gguf_copy(os.path.join(out, "reseeded-q4_0.gguf"), reseeded, Q.Q4_0)
    save_folder(llama(SEED + 2, layers=3), os.path.join(out, "other-size"))
    save_folder(llama(SEED + 3, family="qwen2"), os.path.join(out, "other-family"))
    for offset, (name, target) in enumerate(BOUNDARY.items()):
        save_folder(boundary_copy(original, target, SEED + 10 + offset), os.path.join(out, name))

    reference = sample(folder_embedding(os.path.join(out, "original")))
    copies = {"bf16": sample(folder_embedding(os.path.join(out, "bf16")))}
    for qtype in GGUF_TYPES:
        path = os.path.join(out, f"{qtype.name.lower()}.gguf")
        write_gguf_copy(path, original, qtype)
        copies[f"{qtype.name.lower()}.gguf"] = sample(gguf_embedding(path))
    copies["reseeded"] = sample(folder_embedding(os.path.join(out, "reseeded")))
    copies["reseeded-q4_0.gguf"] = sample(gguf_embedding(os.path.join(out, "reseeded-q4_0.gguf")))
    for name in BOUNDARY:
        copies[name] = sample(folder_embedding(os.path.join(out, name)))

    with open(os.path.join(out, "differences.txt"), "w") as handle:
        for name, values in copies.items():
            forward, reverse = relative_difference(values, reference), relative_difference(reference, values)
            handle.write(f"{name} {forward:.9g}\nreverse-{name} {reverse:.9g}\n")
            print(f"{name:14s} sample differs from the original's by {forward:.6f} (reverse {reverse:.6f})")
    with open(os.path.join(out, "fingerprints.txt"), "w") as handle:
        for name in ("original", "bf16", "reseeded"):
            handle.write(f"{name} {fingerprint(os.path.join(out, name))}\n")
    write_info(os.path.join(out, "info.txt"),
               dict(model_type="llama", vocab_size=VOCAB, hidden_size=HIDDEN, num_layers=LAYERS))


if __name__ == "__main__":
    main()
