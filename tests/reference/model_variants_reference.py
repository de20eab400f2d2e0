"""Model-config variants written and run by transformers itself, for tests/c/test_model_variants.c.
Test tool only.

Each variant is a small random llama / mistral / qwen2 model (2 layers, hidden 64, 4 heads with 2
key/value heads, vocabulary 256, float32, fixed seed) saved with save_pretrained(safe_serialization=True)
into OUT/<variant>/. Variants in the older config layout (top-level rope_theta + rope_scaling) or with
keys transformers' own writer would drop are made by editing config.json afterwards; the reference is
then computed from the edited folder, reloaded by transformers, so that it reflects what transformers
makes of that very file.

Written next to each model:
  logits.f32        (B, S, V) transformers logits for the long batch (absent when a sliding window
                    applies to it: the C suite expects a refusal there)
  short_logits.f32  (B, 4, V) logits for the short batch (4 tokens: no window of 4 or more applies)
and once in OUT/: input_ids.i32 / attention_mask.i32 (B, S) and short_input_ids.i32 /
short_attention_mask.i32 (B, 4), right padded. All raw little-endian.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from transformers import (AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM,
                          Qwen2Config, Qwen2ForCausalLM)

# Shared with tests/c/test_model_variants.c.
BATCH, SEQ_LEN, SHORT_LEN = 2, 12, 4
ROW_LENGTHS, SHORT_ROW_LENGTHS = [12, 7], [4, 3]
SIZES = dict(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, tie_word_embeddings=False)


def write(path, array, dtype):
    np.ascontiguousarray(np.asarray(array, dtype=dtype)).tofile(path)


def randomize(model, seed):
    """Every parameter random and of a size that matters (transformers initialises biases to zero,
    which would hide a dropped bias)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if name.endswith("norm.weight") or "layernorm" in name:
                parameter.copy_(1.0 + 0.2 * noise)
            elif name.endswith(".bias"):
                parameter.copy_(0.5 * noise)
            elif "embed_tokens" in name:
                parameter.copy_(noise)
            else:
                parameter.copy_(noise / parameter.shape[-1] ** 0.5)


def old_rope_layout(rope_theta, **scaling):
    """Config edit: drop rope_parameters, write the pre-transformers-5 keys instead."""
    def edit(config):
        config.pop("rope_parameters", None)
        config["rope_theta"] = rope_theta
        config["rope_scaling"] = scaling
    return edit


def set_keys(**keys):
    def edit(config):
        config.update(keys)
    return edit


def drop_keys(*names):
    def edit(config):
        for name in names:
            config.pop(name, None)
    return edit


# name: (model class, config class, config overrides, config.json edit or None, window applies to the long batch)
VARIANTS = {
    "llama-mlp-bias": (LlamaForCausalLM, LlamaConfig, dict(mlp_bias=True), None, False),
    "llama-attention-bias": (LlamaForCausalLM, LlamaConfig, dict(attention_bias=True), None, False),
    # transformers' llama never applies a window, whatever the config says.
    "llama-sliding-window": (LlamaForCausalLM, LlamaConfig, {},
                             set_keys(sliding_window=4, use_sliding_window=True, max_window_layers=0), False),
    "mistral-window-null": (MistralForCausalLM, MistralConfig, dict(sliding_window=None), None, False),
    "mistral-window-large": (MistralForCausalLM, MistralConfig, dict(sliding_window=4096), None, False),
    "mistral-window-absent": (MistralForCausalLM, MistralConfig, dict(sliding_window=4096), drop_keys("sliding_window"),
                              False),  # MistralConfig's default window (4096)
    "mistral-window-4": (MistralForCausalLM, MistralConfig, dict(sliding_window=4), None, True),
    # qwen2: a window only with use_sliding_window, and only on the layers layer_types marks
    # (derived from max_window_layers when absent).
    "qwen2-window-off": (Qwen2ForCausalLM, Qwen2Config, dict(use_sliding_window=False),
                         set_keys(sliding_window=4, max_window_layers=0), False),
    "qwen2-window-upper": (Qwen2ForCausalLM, Qwen2Config,
                           dict(use_sliding_window=True, sliding_window=4, max_window_layers=2),
                           drop_keys("layer_types"), False),
    "qwen2-window-on": (Qwen2ForCausalLM, Qwen2Config,
                        dict(use_sliding_window=True, sliding_window=4, max_window_layers=1), None, True),
    "rope-linear": (LlamaForCausalLM, LlamaConfig,
                    dict(rope_parameters=dict(rope_type="linear", rope_theta=10000.0, factor=2.0)), None, False),
    "rope-linear-old": (LlamaForCausalLM, LlamaConfig, {},
                        old_rope_layout(20000.0, type="linear", factor=4.0), False),
    # dynamic NTK: max_position_embeddings 8 < SEQ_LEN, so the long batch is rescaled; the short one is not.
    "rope-dynamic": (LlamaForCausalLM, LlamaConfig,
                     dict(max_position_embeddings=8, rope_parameters=dict(rope_type="dynamic", rope_theta=10000.0,
                                                                          factor=2.0)), None, False),
    "rope-dynamic-old": (LlamaForCausalLM, LlamaConfig, dict(max_position_embeddings=8),
                         old_rope_layout(10000.0, type="dynamic", factor=3.0), False),
    "rope-yarn": (LlamaForCausalLM, LlamaConfig,
                  dict(max_position_embeddings=16384,
                       rope_parameters=dict(rope_type="yarn", rope_theta=10000.0, factor=4.0,
                                            original_max_position_embeddings=4096)), None, False),
    "rope-yarn-old": (LlamaForCausalLM, LlamaConfig, dict(max_position_embeddings=65536),
                      old_rope_layout(500000.0, rope_type="yarn", factor=8.0, original_max_position_embeddings=8192,
                                      beta_fast=16, beta_slow=2, mscale=1.0, mscale_all_dim=0.5, truncate=False),
                      False),
    # Qwen2.5-style: factor 4 while max_position_embeddings equals original_max_position_embeddings, so
    # "factor" and "max / original" (which some versions substituted) give different frequencies.
    "rope-yarn-factor": (LlamaForCausalLM, LlamaConfig,
                         dict(max_position_embeddings=32768,
                              rope_parameters=dict(rope_type="yarn", rope_theta=1000000.0, factor=4.0,
                                                   original_max_position_embeddings=32768)), None, False),
}


def batch(lengths, seq_len, generator):
    ids = torch.randint(0, SIZES["vocab_size"], (BATCH, seq_len), generator=generator)
    mask = torch.zeros(BATCH, seq_len, dtype=torch.long)
    for row, length in enumerate(lengths):
        mask[row, :length] = 1
    return ids, mask


def make_variant(out, name, seed, inputs):
    model_class, config_class, overrides, edit, window_applies = VARIANTS[name]
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(seed)
    config = config_class(**{**SIZES, **overrides})
    model = model_class(config).eval()
    randomize(model, seed)
    model.save_pretrained(folder, safe_serialization=True)
    if edit is not None:
        path = os.path.join(folder, "config.json")
        with open(path) as file:
            saved = json.load(file)
        edit(saved)
        with open(path, "w") as file:
            json.dump(saved, file, indent=2)
    # The reference comes from the folder as written (edits included), as any user would load it.
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="sdpa").eval()
    (ids, mask), (short_ids, short_mask) = inputs
    with torch.no_grad():
        # Short batch first: for dynamic NTK this leaves transformers' cached frequencies unscaled, so
        # each call sees what a stateless per-call computation gives.
        write(os.path.join(folder, "short_logits.f32"), model(input_ids=short_ids, attention_mask=short_mask).logits,
              np.float32)
        if not window_applies:
            write(os.path.join(folder, "logits.f32"), model(input_ids=ids, attention_mask=mask).logits, np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    generator = torch.Generator().manual_seed(1234)
    inputs = (batch(ROW_LENGTHS, SEQ_LEN, generator), batch(SHORT_ROW_LENGTHS, SHORT_LEN, generator))
    write(os.path.join(args.out, "input_ids.i32"), inputs[0][0], np.int32)
    write(os.path.join(args.out, "attention_mask.i32"), inputs[0][1], np.int32)
    write(os.path.join(args.out, "short_input_ids.i32"), inputs[1][0], np.int32)
    write(os.path.join(args.out, "short_attention_mask.i32"), inputs[1][1], np.int32)
    for seed, name in enumerate(VARIANTS):
        make_variant(args.out, name, 100 + seed, inputs)
        print(f"model variant {name} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
