"""Reference outputs of transformers for the model's key/value-prefix and position-id inputs
(the ways prefix tuning enters a model), for tests/core/test_transformer.cpp. Test tool only.

For each variant, OUT/<variant>/ receives:
  prefix_kv.f32      random prefix, (L, 2, B, Hkv, P, hd): [l, 0] keys, [l, 1] values of layer l
  input_ids.i32      (B, S), right padded;  attention_mask.i32 (B, P + S): P ones, then the padding mask
  prefix_logits.f32  transformers logits (B, S, V) with that cache; positions P .. P+S-1
  position_ids.i64   explicit positions (B, S): row r counts from 2 r
  positioned_logits.f32  logits with the prefix and those explicit positions
"""
import argparse
import os
import sys

import numpy as np
import torch
from transformers import AutoModelForCausalLM, DynamicCache

BATCH, SEQ_LEN, PREFIX = 2, 6, 3  # shared with tests/core/test_transformer.cpp
ROW_LENGTHS = [6, 4]


def write(path, array, dtype):
    np.ascontiguousarray(np.asarray(array, dtype=dtype)).tofile(path)


def references(folder, out):
    os.makedirs(out, exist_ok=True)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="sdpa").eval()
    config = model.config
    layers = config.num_hidden_layers
    heads = config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    generator = torch.Generator().manual_seed(77)
    prefix = torch.randn(layers, 2, BATCH, kv_heads, PREFIX, head_dim, generator=generator)
    ids = torch.randint(3, config.vocab_size, (BATCH, SEQ_LEN), generator=generator)
    mask = torch.zeros(BATCH, SEQ_LEN, dtype=torch.long)
    for row, length in enumerate(ROW_LENGTHS):
        mask[row, :length] = 1
    full_mask = torch.cat([torch.ones(BATCH, PREFIX, dtype=torch.long), mask], dim=1)
    positions = torch.arange(SEQ_LEN).unsqueeze(0) + 2 * torch.arange(BATCH).unsqueeze(1)

    def cache():
        return DynamicCache(ddp_cache_data=[(prefix[l, 0].clone(), prefix[l, 1].clone()) for l in range(layers)])

    with torch.no_grad():
        plain = model(input_ids=ids, attention_mask=full_mask, past_key_values=cache()).logits
        positioned = model(input_ids=ids, attention_mask=full_mask, past_key_values=cache(), position_ids=positions).logits
    write(os.path.join(out, "prefix_kv.f32"), prefix, np.float32)
    write(os.path.join(out, "input_ids.i32"), ids, np.int32)
    write(os.path.join(out, "attention_mask.i32"), full_mask, np.int32)
    write(os.path.join(out, "prefix_logits.f32"), plain, np.float32)
    write(os.path.join(out, "position_ids.i64"), positions, np.int64)
    write(os.path.join(out, "positioned_logits.f32"), positioned, np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("variants", nargs="+")
    args = parser.parse_args()
    for variant in args.variants:
        references(os.path.join(args.models, variant), os.path.join(args.out, variant))
        print(f"prefix references for {variant} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
