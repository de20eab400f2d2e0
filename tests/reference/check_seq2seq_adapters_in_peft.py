"""Loads the SEQ_2_SEQ_LM adapter folders softprompt saved into PEFT and checks them (test tool only): the T5
counterpart of check_task_adapters_in_peft.py.

Usage: check_seq2seq_adapters_in_peft.py --ref REFERENCE --ours OURS VARIANT..., with the arguments of
tests/c/test_seq2seq_conformance.c: REFERENCE written by t5_reference.py (the batch in REFERENCE/<variant>/, the
models in REFERENCE/models/<variant>), OURS its scratch folder, where every case left OURS/<variant>/<case>/folder
(our adapter after its AdamW step, saved with sp_adapter_save) and our_output.f32 beside it (that adapter's decoder
logits on the reference batch, (B, T, vocab)).

For every such folder (exactly one per case the reference holds):
  - our adapter_config.json says task_type SEQ_2_SEQ_LM and num_transformer_submodules 2 (PEFT's default for
    SEQ_2_SEQ_LM, which every reference file assumes: 2n-row prompt tables);
  - the base model is loaded as t5_reference.py loads it for its loaded-folder references
    (T5ForConditionalGeneration, float32, sdpa, after torch.manual_seed(SEED + 1)) and PeftModel.from_pretrained(base,
    folder) loads it with every tensor from our file: PEFT's adapter state dict holds exactly our file's keys with
    our values (check_task_adapters_in_peft.check_loaded_tensors);
  - PEFT's forward(input_ids, attention_mask, labels[, task_ids = MPT_TASK_IDS for MPT]) on the reference batch, at
    the caller's decoder positions (MPT prepends n decoder positions: dropped, as t5_reference.py does), equals
    our_output.f32 by the tolerance rule of tests/c/test_support.h with test_seq2seq_conformance.c's reduction
    length: twice the decoder-only length over every position of the call (S + T + 2n keys), its prompt encoder
    running over the 2n rows of the table;
  - PEFT re-saving it writes our adapter_model.safetensors byte for byte and our adapter_config.json apart from the
    writer's fields, and our adapter_config.json equals PEFT's own save of the same case
    (REFERENCE/<variant>/<case>/peft/, saved before its AdamW step: the configuration does not change) apart from
    the writer's fields (check_ours_in_peft.check_resave and check_task_adapters_in_peft.check_config as that script
    calls them: modules_to_save, null here, is compared with PEFT's own save exactly and with the re-save as a set).
Exits non-zero on the first mismatch.
"""
import argparse
import copy
import json
import os
import sys
import time
import types

import numpy as np
import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import T5ForConditionalGeneration

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_ours_in_peft import check_resave, forward_length  # noqa: E402
from check_task_adapters_in_peft import case_names, check_config, check_loaded_tensors, compare  # noqa: E402
from encoder_reference import NUM_VIRTUAL_TOKENS, SEED, load, setup  # noqa: E402
from t5_reference import BATCH, MPT_TASK_IDS, SEQ_LEN, TARGET_LEN  # noqa: E402

TASK_TYPE, NUM_TRANSFORMER_SUBMODULES = "SEQ_2_SEQ_LM", 2


def read_batch(reference):
    """The reference batch as test_seq2seq_conformance.c reads it: encoder ids and mask (B, S), labels (B, T)."""
    batch = {}
    for name, length in (("input_ids", SEQ_LEN), ("attention_mask", SEQ_LEN), ("labels", TARGET_LEN)):
        values = np.fromfile(os.path.join(reference, f"{name}.i32"), dtype=np.int32).astype(np.int64)
        if values.size != BATCH * length:
            raise SystemExit(f"{reference}/{name}.i32 holds {values.size} values, expected {BATCH} x {length}")
        batch[name] = torch.from_numpy(values).view(BATCH, length)
    return batch


def check_saved_config(label, folder):
    """What our adapter_config.json must say for a T5 adapter, read from the file itself."""
    with open(os.path.join(folder, "adapter_config.json")) as handle:
        saved = json.load(handle)
    for key, expected in (("task_type", TASK_TYPE), ("num_transformer_submodules", NUM_TRANSFORMER_SUBMODULES)):
        if saved.get(key) != expected:
            raise SystemExit(f"{label}: adapter_config.json: {key} is {saved.get(key)!r}, expected {expected!r}")


def seq2seq_length(model_config, peft_config):
    """test_seq2seq_conformance.c's forward_length: 2 x conformance_forward_length over S + T + 2n keys, the prompt
    encoder (prompt_encoder_length) over the table's n x m rows. check_ours_in_peft.forward_length computes the
    decoder-only length from a config that names T5's sizes as decoder configs do, its P-tuning chain over
    num_virtual_tokens steps: given the n x m rows PEFT's encoder runs over."""
    sizes = types.SimpleNamespace(hidden_size=model_config.d_model, num_hidden_layers=model_config.num_layers,
                                  num_attention_heads=model_config.num_heads, head_dim=model_config.d_kv,
                                  intermediate_size=model_config.d_ff)
    rows = copy.copy(peft_config)
    rows.num_virtual_tokens = peft_config.num_virtual_tokens * peft_config.num_transformer_submodules
    return 2 * forward_length(sizes, rows, SEQ_LEN + TARGET_LEN + rows.num_virtual_tokens)


def peft_logits(model, batch, task_ids):
    """PEFT's forward as t5_reference.py calls it, at the caller's T decoder positions."""
    extra = {} if task_ids is None else {"task_ids": torch.tensor(task_ids)}
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"],
                       **extra).logits
    prepended = NUM_VIRTUAL_TOKENS if task_ids is not None else 0
    if logits.shape[:2] != (BATCH, TARGET_LEN + prepended):
        raise SystemExit(f"PEFT's logits have shape {tuple(logits.shape)}, expected ({BATCH}, {TARGET_LEN} + "
                         f"{prepended}, vocab)")
    return logits[:, prepended:]


def check(label, case_folder, reference_case, model_folder, batch):
    """Returns the ratio of the logits comparison."""
    folder = os.path.join(case_folder, "folder")
    check_saved_config(label, folder)
    saved = load_file(os.path.join(folder, "adapter_model.safetensors"))
    base = load(T5ForConditionalGeneration, model_folder, SEED + 1)
    try:
        model = PeftModel.from_pretrained(base, folder).eval()
    except Exception as error:  # PEFT's own failure: say where
        raise SystemExit(f"{label}: PEFT cannot load {folder} ({type(error).__name__}: {error}); our file's "
                         f"tensors: {sorted(saved)}") from error
    config = model.peft_config["default"]
    if config.task_type != TASK_TYPE or config.num_transformer_submodules != NUM_TRANSFORMER_SUBMODULES:
        raise SystemExit(f"{label}: PEFT reads task_type {config.task_type}, num_transformer_submodules "
                         f"{config.num_transformer_submodules}")
    check_loaded_tensors(label, model, saved)

    task_ids = MPT_TASK_IDS if config.peft_type == "MULTITASK_PROMPT_TUNING" else None
    peft = peft_logits(model, batch, task_ids)
    output_path = os.path.join(case_folder, "our_output.f32")
    if not os.path.exists(output_path):
        raise SystemExit(f"{label}: no {output_path} beside our folder (test_seq2seq_conformance writes it)")
    ours = torch.from_numpy(np.fromfile(output_path, dtype=np.float32))
    if ours.numel() != peft.numel():
        raise SystemExit(f"{label}: our_output.f32 holds {ours.numel()} floats, PEFT's logits {peft.numel()}")
    ratio = compare(label, "decoder logits", ours.view(peft.shape), peft, seq2seq_length(base.config, config))

    resaved_fields = check_resave(label, model, folder, rewritten=("modules_to_save",))
    check_config(label, folder, os.path.join(reference_case, "peft"), resaved_fields)
    print(f"  {label}: loaded from our file; re-saved bytes identical; config equal (PEFT's own too)")
    return ratio


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref", required=True, help="t5_reference.py's output folder")
    parser.add_argument("--ours", required=True, help="test_seq2seq_conformance's scratch folder")
    parser.add_argument("variants", nargs="+")
    args = parser.parse_args()
    setup()
    start, checked, worst, worst_label = time.monotonic(), 0, 0.0, ""
    for variant in args.variants:
        reference, ours = os.path.join(args.ref, variant), os.path.join(args.ours, variant)
        batch = read_batch(reference)
        for case in case_names(reference, ours):
            label = f"{variant} {case}"
            ratio = check(label, os.path.join(ours, case), os.path.join(reference, case),
                          os.path.join(args.ref, "models", variant), batch)
            checked += 1
            if ratio >= worst:
                worst, worst_label = ratio, label
    print(f"seq2seq_adapters_in_peft: {checked} passed, 0 failed; worst ratio {worst:.3g} ({worst_label}); "
          f"{time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
