"""Loads adapter folders written by softprompt into PEFT and checks them (test tool only).

For each variant, every adapter in OURS/<variant>/ and OURS/<variant>/<case>/ (written by
tests/c/test_adapter_files.c and tests/c/test_methods.c):
  - PeftModel.from_pretrained loads adapter/ onto the transformers model without complaint;
  - PEFT's logits on the reference batch equal our_logits.f32 by the tolerance rule of
    tests/c/test_support.h (4 * u * n * max|PEFT's logits|, n the forward pass's reduction length);
  - PEFT re-saving the loaded adapter produces a byte-identical adapter_model.safetensors and the
    same adapter_config.json apart from the fields that name the writer.
Exits non-zero on the first mismatch.
"""
import argparse
import filecmp
import json
import os
import sys
import tempfile

import numpy as np
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

# tests/c/test_support.h's rule, for float32 logits: SP_TOLERANCE_SAFETY * u * n * M.
SAFETY, UNIT_ROUNDOFF = 4.0, 2.0 ** -24


def forward_length(config, peft_config, keys):
    """conformance_forward_length() of test_support.h for this model and adapter: per layer the q/k/v
    projections, scores and weighted sum, output projection, MLP and two norms; then the final norm and
    the output layer; plus the prompt encoder's chain (test_methods.c's encoder_length())."""
    hidden, layers, heads = config.hidden_size, config.num_hidden_layers, config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    intermediate = getattr(config, "intermediate_size", None) or getattr(config, "n_inner", None) or 4 * hidden
    per_layer = 4 * hidden + 2 * head_dim + keys + heads * head_dim + intermediate
    encoder = 0
    kind = str(peft_config.peft_type).split(".")[-1]
    width = getattr(peft_config, "encoder_hidden_size", None) or hidden
    steps = peft_config.num_virtual_tokens
    if kind == "PREFIX_TUNING" and peft_config.prefix_projection:
        encoder = hidden + width
    elif kind == "P_TUNING":
        lstm = "LSTM" in str(peft_config.encoder_reparameterization_type)
        encoder = steps * (hidden + width) + steps * 3 * width + 4 * width if lstm else hidden + 2 * width
    elif kind == "MULTITASK_PROMPT_TUNING":
        encoder = peft_config.num_ranks
    return encoder + layers * per_layer + 2 * hidden
WRITER_FIELDS = {"peft_version", "base_model_name_or_path"}


def adapter_folders(ours, variant):
    root = os.path.join(ours, variant)
    if os.path.isdir(os.path.join(root, "adapter")):
        yield root
    for case in sorted(os.listdir(root)):
        if os.path.isdir(os.path.join(root, case, "adapter")):
            yield os.path.join(root, case)


def check(variant, case_folder, models, reference):
    folder = os.path.join(case_folder, "adapter")
    label = os.path.relpath(case_folder, os.path.dirname(os.path.dirname(case_folder)))
    base = AutoModelForCausalLM.from_pretrained(os.path.join(models, variant), dtype=torch.float32)
    model = PeftModel.from_pretrained(base, folder)
    model.eval()
    config = model.peft_config["default"]
    ref = os.path.join(reference, variant)
    ids = torch.from_numpy(np.fromfile(os.path.join(ref, "input_ids.i32"), dtype=np.int32).astype(np.int64))
    mask = torch.from_numpy(np.fromfile(os.path.join(ref, "attention_mask.i32"), dtype=np.int32).astype(np.int64))
    ids, mask = ids.view(3, -1), mask.view(3, -1)
    extra = {}
    if config.peft_type == "MULTITASK_PROMPT_TUNING":
        extra["task_ids"] = torch.tensor([0, 1, 2]) if config.num_tasks == 3 else torch.zeros(3, dtype=torch.long)
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask, **extra).logits
    logits = logits[:, logits.shape[1] - ids.shape[1]:]  # drop virtual positions of prompt methods
    our_logits = torch.from_numpy(np.fromfile(os.path.join(case_folder, "our_logits.f32"), dtype=np.float32))
    worst = (logits.reshape(-1) - our_logits).abs().max().item()
    n = forward_length(base.config, config, ids.shape[1] + config.num_virtual_tokens)
    bound = rule_bound(n, logits)
    print(f"{label}: PEFT logits on our {config.peft_type} adapter, max |diff| = {worst:.3g}, "
          f"bound {bound:.3g} (n={n}), ratio {worst / bound:.3g}")
    if not worst <= bound:
        raise SystemExit(f"{label}: logits differ by {worst} > the rule's bound {bound}")

    check_resave(label, model, folder)
    print(f"{label}: safetensors bytes identical to PEFT's re-save; config equal")


def rule_bound(n, reference):
    """The rule's bound for float32 values computed like `reference` through reductions of length n."""
    return SAFETY * UNIT_ROUNDOFF * n * reference.abs().max().item()


def check_resave(label, model, folder, rewritten=()):
    """PEFT re-saving `model` (loaded from `folder`) writes folder's adapter_model.safetensors byte for byte and its
    adapter_config.json (formatted as json.dumps(indent=2, sort_keys=True)) apart from the fields naming the writer
    and the fields in `rewritten` (ones PEFT changes when it loads a config), which are returned for the caller to
    check as {field: (ours, PEFT's re-saved)}."""
    with tempfile.TemporaryDirectory() as resaved:
        model.save_pretrained(resaved)
        if not filecmp.cmp(os.path.join(folder, "adapter_model.safetensors"),
                           os.path.join(resaved, "adapter_model.safetensors"), shallow=False):
            raise SystemExit(f"{label}: PEFT re-saves different adapter_model.safetensors bytes")
        with open(os.path.join(folder, "adapter_config.json")) as ours_file, \
                open(os.path.join(resaved, "adapter_config.json")) as peft_file:
            ours_text, peft_text = ours_file.read(), peft_file.read()
    ours_config, peft_config = json.loads(ours_text), json.loads(peft_text)
    for field in WRITER_FIELDS:
        ours_config.pop(field), peft_config.pop(field)
    left_out = {field: (ours_config.pop(field, None), peft_config.pop(field, None)) for field in rewritten}
    if ours_config != peft_config:
        raise SystemExit(f"{label}: adapter_config.json differs: ours {ours_config} vs PEFT {peft_config}")
    if json.dumps(json.loads(ours_text), indent=2, sort_keys=True) != ours_text:
        raise SystemExit(f"{label}: adapter_config.json is not formatted as json.dumps(indent=2, sort_keys=True)")
    return left_out


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", required=True)
    parser.add_argument("--reference", required=True)
    parser.add_argument("--ours", required=True)
    parser.add_argument("variants", nargs="+")
    args = parser.parse_args()
    checked = 0
    for variant in args.variants:
        for case_folder in adapter_folders(args.ours, variant):
            check(variant, case_folder, args.models, args.reference)
            checked += 1
    if checked == 0:
        raise SystemExit("no adapter folders found")
    print(f"ours_in_peft: {checked} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
