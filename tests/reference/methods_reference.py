"""Reference outputs of PEFT for prefix tuning, P-tuning and multitask prompt tuning (test tool only).

For each variant and case, OUT/<variant>/<case>/ receives raw little-endian float32 files:
  init__<param>.f32     every trainable tensor as PEFT initialises it after torch.manual_seed(SEED)
  logits.f32            PEFT's logits on the shared batch at the real positions, (B, S, V)
  loss.f32              PEFT's loss
  grad__<param>.f32     the gradient of every trainable tensor
  after__<param>.f32    every trainable tensor after one torch.optim.AdamW step
  peft/                 the adapter as PEFT saves it before the step (peft_trained/: after it)
  peft_loaded_logits.f32  logits of PeftModel.from_pretrained(peft/) (PEFT's inference mode)
<param> is PEFT's in-memory name inside the prompt encoder ("embedding.weight", "transform.0.weight",
"lstm_head.weight_ih_l0", ...). The batch is peft_reference.py's (OUT/../reference/<variant>/*.i32).
MPT: case mpt_source trains 3 tasks (task ids 0, 1, 2); cases mpt_<init> start 1-task targets from
mpt_source/peft_trained (task ids 0).
"""
import argparse
import os
import sys
from unittest import mock

import numpy as np
import torch
from peft import (MultitaskPromptTuningConfig, PeftModel, PrefixTuningConfig, PromptEncoderConfig, TaskType,
                  get_peft_model)
from transformers import AutoModelForCausalLM

# Shared with tests/c/test_methods.c.
SEED = 11
NUM_VIRTUAL_TOKENS = 4
BATCH = 3
LEARNING_RATE, WEIGHT_DECAY = 0.01, 0.01
# AdamW's first update is lr * g / (|g| + eps), whose sensitivity to g is lr / eps near g = 0. Gradients
# here agree with PEFT's to ~1e-8 (float noise), and LSTM weights have entries with |g| ~ 1e-8: at
# eps = 1e-8 that noise becomes up to 1e-2 in the update, at 1e-3 at most 1e-7. So the comparison runs
# at eps = 1e-3; tests/c/test_conformance.c checks the default eps on prompt tuning.
ADAMW_EPS = 1e-3
TEXT_INIT_IDS = [5, 6, 7]


def cases(source_path):
    common = dict(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=NUM_VIRTUAL_TOKENS)
    mpt_target = dict(common, num_tasks=1, num_ranks=2, prompt_tuning_init_state_dict_path=source_path)
    return {
        "prefix": (PrefixTuningConfig(**common), None),
        "prefix_projection": (PrefixTuningConfig(**common, prefix_projection=True, encoder_hidden_size=32), None),
        "ptuning_mlp": (PromptEncoderConfig(**common, encoder_hidden_size=32), None),
        "ptuning_lstm": (PromptEncoderConfig(**common, encoder_reparameterization_type="LSTM", encoder_hidden_size=16,
                                             encoder_num_layers=2, encoder_dropout=0.0), None),
        "mpt_source": (MultitaskPromptTuningConfig(**common, num_tasks=3, num_ranks=2), [0, 1, 2]),
        "mpt_average_source_tasks": (MultitaskPromptTuningConfig(**mpt_target, prompt_tuning_init="AVERAGE_SOURCE_TASKS"), [0] * 3),
        "mpt_exact_source_task": (MultitaskPromptTuningConfig(**mpt_target, prompt_tuning_init="EXACT_SOURCE_TASK",
                                                              prompt_tuning_init_task=1), [0] * 3),
        "mpt_only_source_shared": (MultitaskPromptTuningConfig(**mpt_target, prompt_tuning_init="ONLY_SOURCE_SHARED"), [0] * 3),
        "mpt_random": (MultitaskPromptTuningConfig(**dict(mpt_target, prompt_tuning_init_state_dict_path=None)), [0] * 3),
        "mpt_text": (MultitaskPromptTuningConfig(**dict(mpt_target, prompt_tuning_init_state_dict_path=None),
                                                 prompt_tuning_init="TEXT", prompt_tuning_init_text="fixed ids",
                                                 tokenizer_name_or_path="fake"), [0] * 3),
    }


class FakeTokenizer:
    def __call__(self, text):
        return {"input_ids": list(TEXT_INIT_IDS)}


def write(path, array):
    np.ascontiguousarray(np.asarray(array, dtype=np.float32)).tofile(path)


def load_batch(reference, variant):
    folder = os.path.join(reference, variant)
    read = lambda name: torch.from_numpy(np.fromfile(os.path.join(folder, name), dtype=np.int32).astype(np.int64)).view(BATCH, -1)
    return read("input_ids.i32"), read("attention_mask.i32"), read("labels.i32")


def run_case(model_folder, out, config, task_ids, batch):
    ids, mask, labels = batch
    os.makedirs(out, exist_ok=True)
    model = AutoModelForCausalLM.from_pretrained(model_folder, dtype=torch.float32, attn_implementation="sdpa").eval()
    torch.manual_seed(SEED)
    with mock.patch("transformers.AutoTokenizer.from_pretrained", return_value=FakeTokenizer()):
        peft_model = get_peft_model(model, config)
    encoder = peft_model.prompt_encoder["default"]
    params = {name: p for name, p in encoder.named_parameters() if p.requires_grad}
    for name, p in params.items():
        write(os.path.join(out, f"init__{name}.f32"), p.detach())
    peft_model.save_pretrained(os.path.join(out, "peft"))

    extra = {} if task_ids is None else {"task_ids": torch.tensor(task_ids)}
    output = peft_model(input_ids=ids, attention_mask=mask, labels=labels, **extra)
    prepended = output.logits.shape[1] - ids.shape[1]
    write(os.path.join(out, "logits.f32"), output.logits[:, prepended:].detach())
    write(os.path.join(out, "loss.f32"), [output.loss.item()])
    output.loss.backward()
    for name, p in params.items():
        write(os.path.join(out, f"grad__{name}.f32"), p.grad)
    torch.optim.AdamW(list(params.values()), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY, eps=ADAMW_EPS).step()
    for name, p in params.items():
        write(os.path.join(out, f"after__{name}.f32"), p.detach())
    peft_model.save_pretrained(os.path.join(out, "peft_trained"))  # MPT targets start from the trained source

    base = AutoModelForCausalLM.from_pretrained(model_folder, dtype=torch.float32, attn_implementation="sdpa")
    loaded = PeftModel.from_pretrained(base, os.path.join(out, "peft")).eval()
    with torch.no_grad():
        logits = loaded(input_ids=ids, attention_mask=mask, **extra).logits
    write(os.path.join(out, "peft_loaded_logits.f32"), logits[:, prepended:])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", required=True)
    parser.add_argument("--reference", required=True, help="peft_reference.py's output (for the batch)")
    parser.add_argument("--out", required=True)
    parser.add_argument("variants", nargs="+")
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    for variant in args.variants:
        source = os.path.join(args.out, variant, "mpt_source", "peft_trained", "adapter_model.safetensors")
        batch = load_batch(args.reference, variant)
        for name, (config, task_ids) in cases(source).items():
            run_case(os.path.join(args.models, variant), os.path.join(args.out, variant, name), config, task_ids, batch)
        print(f"method references for {variant} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
