"""Loads the SEQ_CLS, TOKEN_CLS and FEATURE_EXTRACTION adapter folders softprompt saved into PEFT and checks them
(test tool only): the task counterpart of check_ours_in_peft.py.

Usage: check_task_adapters_in_peft.py --set REFERENCE MODELS OURS VARIANT... [--set ...], one --set per run of
tests/c/test_task_conformance.c, with its arguments: REFERENCE written by encoder_reference.py or
decoder_task_reference.py, MODELS the model folders (MODELS/<variant>), OURS its scratch folder, where every case
left OURS/<variant>/<case>_<task>/folder (our adapter after its training step, saved with sp_adapter_save) and
our_output.f32 beside it (that adapter's class logits or hidden states on the reference batch).

For every such folder (exactly one per case the reference holds):
  - the base model is loaded as the reference scripts load it (encoder_reference.load: float32, sdpa; the task's
    Auto class, num_labels from the shape of the head's output layer in our safetensors, decoders with
    pad_token_id = PAD_TOKEN_ID), after torch.manual_seed(SEED + 1) so that its own random head differs from ours;
  - PeftModel.from_pretrained(base, folder) loads it with every tensor from our file: PEFT's state dict holds
    exactly our file's keys (nothing missing, nothing unexpected, which PEFT itself ignores) with our values, and
    the head's trainable copy is our file's while the base's own head is not;
  - PEFT's output on the reference batch, called as the references call it (token types for encoders, MPT's task
    ids, prefix tuning x SEQ_CLS / TOKEN_CLS through the references' direct call where PEFT's own forward fails;
    see encoder_reference.py's DIRECT_CALL), equals our_output.f32 by the tolerance rule of tests/c/test_support.h,
    over the positions test_task_conformance.c compares (SEQ_CLS all; TOKEN_CLS the real positions; hidden states
    the real and the padded ones, each with its own magnitude) and with its reduction lengths
    (check_ours_in_peft.forward_length, plus the hidden x hidden product of an encoder's SEQ_CLS head);
  - PEFT re-saving it writes our adapter_model.safetensors byte for byte and our adapter_config.json apart from the
    writer's fields (check_ours_in_peft.check_resave) and modules_to_save, which PEFT 0.21.2 extends by
    ["classifier", "score"] each time it builds a SEQ_CLS / TOKEN_CLS model from a config (twice per
    from_pretrained, so its own folders grow from 4 to 8 entries too): there the re-saved list must name the same
    modules. Our adapter_config.json must also equal PEFT's own save of the same case (REFERENCE/.../peft/, the same
    configuration) apart from the writer's fields, modules_to_save and task_type included.
Exits non-zero on the first mismatch.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from peft import PeftModel
from peft.utils import get_peft_model_state_dict
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_ours_in_peft import WRITER_FIELDS, check_resave, forward_length, rule_bound  # noqa: E402
from decoder_task_reference import PAD_TOKEN_ID  # noqa: E402
from encoder_reference import (BATCH, MPT_TASK_IDS, NUM_VIRTUAL_TOKENS, SEED, SEQ_LEN, TASKS,  # noqa: E402
                               direct_prefix_call, head_parts, is_prefix_signature_failure, load, model_inputs,
                               output_of, setup)


def read_batch(reference):
    """The reference batch as the C suite reads it (token types only where the reference has them: encoders)."""
    batch = {}
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        path = os.path.join(reference, f"{name}.i32")
        if os.path.exists(path):
            values = np.fromfile(path, dtype=np.int32).astype(np.int64)
            batch[name] = torch.from_numpy(values).view(BATCH, SEQ_LEN)
    return batch


def split_case(name):
    """<case>_<task> -> (case, task)."""
    for task in TASKS:
        if name.endswith("_" + task):
            return name[:-len(task) - 1], task
    raise SystemExit(f"{name}: not <case>_<task> with a task of {sorted(TASKS)}")


def case_names(reference, ours):
    """The <case>_<task> names of the reference (those with a complete reference, params.txt), which must be
    exactly those we saved a folder for."""
    expected = sorted(name for name in os.listdir(reference)
                      if os.path.exists(os.path.join(reference, name, "params.txt")))
    saved = sorted(name for name in os.listdir(ours) if os.path.isdir(os.path.join(ours, name, "folder")))
    if not expected or saved != expected:
        raise SystemExit(f"{ours}: saved folders {saved}, the reference's cases {expected}")
    return saved


def num_labels_of(label, heads):
    """The head's class count: the first dimension of its output layer (RoBERTa SEQ_CLS: classifier.out_proj after
    classifier.dense; otherwise the head's only weight)."""
    weights = [key for key in heads if key.endswith(".weight")]
    outputs = [key for key in weights if key.endswith(".out_proj.weight")] if len(weights) > 1 else weights
    if len(outputs) != 1:
        raise SystemExit(f"{label}: no single output layer among the head tensors {sorted(heads)}")
    return heads[outputs[0]].shape[0]


def check_loaded_tensors(label, model, saved):
    """Every tensor PEFT holds for the adapter is our file's, and our file has no other."""
    state = get_peft_model_state_dict(model)
    missing, unexpected = sorted(state.keys() - saved.keys()), sorted(saved.keys() - state.keys())
    if missing or unexpected:
        raise SystemExit(f"{label}: PEFT's adapter tensors {sorted(state)}; missing from our file {missing}, "
                         f"in our file but not PEFT's {unexpected}")
    for key, tensor in saved.items():
        if not torch.equal(state[key], tensor):
            raise SystemExit(f"{label}: PEFT's {key} is not our file's")
    copies, originals = head_parts(model, ".modules_to_save.default."), head_parts(model, ".original_module.")
    heads = {key: tensor for key, tensor in saved.items() if key.startswith("base_model.")}
    if sorted(copies) != sorted(heads):
        raise SystemExit(f"{label}: PEFT's trainable head {sorted(copies)}, our file's {sorted(heads)}")
    for key, tensor in heads.items():
        if not torch.equal(copies[key], tensor):
            raise SystemExit(f"{label}: the loaded head {key} is not our file's")
        if key.endswith(".weight") and torch.equal(originals[key], tensor):
            raise SystemExit(f"{label}: {key}: the base's own head equals ours, so the check above proves nothing")


def peft_output(model, case, task, batch, task_ids):
    """PEFT's output at the caller's positions, called as the references call it; whether by the direct call."""
    inputs = model_inputs(batch)
    extra = {} if task_ids is None else {"task_ids": torch.tensor(task_ids)}
    with torch.no_grad():
        try:
            return output_of(task, model(**inputs, **extra))[1], False
        except ValueError as error:
            if not is_prefix_signature_failure(task, case, error):
                raise
            return output_of(task, direct_prefix_call(model, inputs))[1], True


def compare(label, what, ours, peft, n):
    """The tolerance rule on one part; returns its ratio."""
    worst = (ours - peft).abs().max().item()
    bound = rule_bound(n, peft)
    ratio = 0.0 if worst == 0.0 else worst / bound if bound > 0.0 else float("inf")
    print(f"  {label} {what}: max |diff| = {worst:.3g}, bound {bound:.3g} (n={n:.0f}), ratio {ratio:.3g}")
    if not ratio <= 1.0:
        raise SystemExit(f"{label}: {what}: PEFT's output and ours differ by {worst} > the rule's bound {bound}")
    return ratio


def compare_output(label, task, ours, peft, mask, n):
    """test_task_conformance.c's compare_task_output: SEQ_CLS whole; per position the real positions and, for
    hidden states, the padded ones (a TOKEN_CLS score at a pad has no meaning). Returns the worst ratio."""
    if task == "seq_cls":
        return compare(label, "class logits", ours, peft, n)
    real = mask.reshape(-1) != 0
    ours, peft = ours.reshape(real.numel(), -1), peft.reshape(real.numel(), -1)
    what = "class logits" if task == "token_cls" else "hidden states"
    ratio = compare(label, f"{what} (real positions)", ours[real], peft[real], n)
    if task == "feature" and not real.all():
        ratio = max(ratio, compare(label, f"{what} (padded positions)", ours[~real], peft[~real], n))
    return ratio


def check_config(label, folder, peft_folder, resaved_fields):
    """modules_to_save in PEFT's re-save names our modules; our config is PEFT's own for the case."""
    ours_modules, resaved_modules = resaved_fields["modules_to_save"]
    if set(ours_modules or []) != set(resaved_modules or []):
        raise SystemExit(f"{label}: modules_to_save: ours {ours_modules}, PEFT re-saves {resaved_modules}")
    with open(os.path.join(folder, "adapter_config.json")) as ours_file, \
            open(os.path.join(peft_folder, "adapter_config.json")) as peft_file:
        ours_config, peft_config = json.load(ours_file), json.load(peft_file)
    for field in WRITER_FIELDS:
        ours_config.pop(field), peft_config.pop(field)
    if ours_config != peft_config:
        differing = {key: (ours_config.get(key), peft_config.get(key)) for key in ours_config.keys() | peft_config
                     if ours_config.get(key) != peft_config.get(key)}
        raise SystemExit(f"{label}: adapter_config.json differs from PEFT's own save, (ours, PEFT's): {differing}")


def check(label, case_folder, reference_case, model_folder, case, task, batch, encoder):
    """Returns the worst ratio of the output comparisons."""
    folder = os.path.join(case_folder, "folder")
    saved = load_file(os.path.join(folder, "adapter_model.safetensors"))
    heads = {key: tensor for key, tensor in saved.items() if key.startswith("base_model.")}
    load_kwargs = {} if encoder else {"pad_token_id": PAD_TOKEN_ID}
    if task != "feature":
        load_kwargs["num_labels"] = num_labels_of(label, heads)
    elif heads:
        raise SystemExit(f"{label}: a FEATURE_EXTRACTION adapter with head tensors {sorted(heads)}")
    base = load(TASKS[task][1], model_folder, SEED + 1, **load_kwargs)
    try:
        model = PeftModel.from_pretrained(base, folder).eval()
    except Exception as error:  # PEFT's own failure (a KeyError for a head it looks for, ...): say where
        raise SystemExit(f"{label}: PEFT cannot load {folder} ({type(error).__name__}: {error}); our file's "
                         f"tensors: {sorted(saved)}") from error
    config = model.peft_config["default"]
    if config.task_type != TASKS[task][0]:
        raise SystemExit(f"{label}: PEFT reads task_type {config.task_type}, expected {TASKS[task][0]}")
    check_loaded_tensors(label, model, saved)

    task_ids = MPT_TASK_IDS if config.peft_type == "MULTITASK_PROMPT_TUNING" else None
    peft, direct = peft_output(model, case, task, batch, task_ids)
    if direct != os.path.exists(os.path.join(reference_case, "DIRECT_CALL")):
        raise SystemExit(f"{label}: PEFT's own forward {'fails' if direct else 'works'} here, the reference's did "
                         f"{'not' if direct else 'fail'}: regenerate the reference")
    ours = torch.from_numpy(np.fromfile(os.path.join(case_folder, "our_output.f32"), dtype=np.float32))
    if ours.numel() != peft.numel():
        raise SystemExit(f"{label}: our_output.f32 holds {ours.numel()} floats, PEFT's output {peft.numel()}")
    n = forward_length(base.config, config, SEQ_LEN + NUM_VIRTUAL_TOKENS)
    if encoder and task == "seq_cls":  # the pooler / classifier.dense before the class layer
        n += base.config.hidden_size
    ratio = compare_output(label + (" (direct call)" if direct else ""), task, ours.view(peft.shape), peft,
                           batch["attention_mask"], n)

    resaved_fields = check_resave(label, model, folder, rewritten=("modules_to_save",))
    check_config(label, folder, os.path.join(reference_case, "peft"), resaved_fields)
    print(f"  {label}: loaded from our file; re-saved bytes identical; config equal (PEFT's own too)")
    return ratio


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", nargs="+", action="append", required=True, dest="sets",
                        metavar="REFERENCE MODELS OURS VARIANT", help="a test_task_conformance run's arguments")
    args = parser.parse_args()
    setup()
    start, checked, worst, worst_label = time.monotonic(), 0, 0.0, ""
    for folders in args.sets:
        if len(folders) < 4:
            parser.error("--set takes REFERENCE MODELS OURS and at least one variant")
        reference_root, models_root, ours_root, variants = folders[0], folders[1], folders[2], folders[3:]
        for variant in variants:
            reference, ours = os.path.join(reference_root, variant), os.path.join(ours_root, variant)
            batch = read_batch(reference)
            encoder = "token_type_ids" in batch
            for name in case_names(reference, ours):
                label = f"{variant} {name}"
                ratio = check(label, os.path.join(ours, name), os.path.join(reference, name),
                              os.path.join(models_root, variant), *split_case(name), batch, encoder)
                checked += 1
                if ratio >= worst:
                    worst, worst_label = ratio, label
    print(f"task_adapters_in_peft: {checked} passed, 0 failed; worst ratio {worst:.3g} ({worst_label}); "
          f"{time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
