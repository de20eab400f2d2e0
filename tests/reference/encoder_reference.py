"""Reference outputs of transformers and PEFT for encoder models, BERT and RoBERTa (test tool only).

Usage: encoder_reference.py --out OUT bert roberta. Every file is raw little-endian (float32 .f32, int32 .i32),
row-major; the C side knows the shapes from the constants below and the model config.

OUT/models/<variant>/     a tiny random base model written by transformers (config.json, model.safetensors):
                          built after torch.manual_seed(MODEL_SEED), every tensor then redrawn (randomize(): so
                          that zero biases and unit norms cannot hide a dropped term), saved the way hub
                          checkpoints look: BERT from BertModel (keys embeddings.*, encoder.*, pooler.*), RoBERTa
                          from RobertaForMaskedLM (keys roberta.*, lm_head.*; no pooler; the tied lm_head.decoder.*
                          not stored), like roberta-base.
OUT/<variant>/            the batch, B = 3 rows of S = 7, real lengths 7, 5, 3, right padded with pad_token_id:
  input_ids.i32           (B, S) ids in [3, vocab) from torch.Generator().manual_seed(2024), pads = pad_token_id
  attention_mask.i32      (B, S)
  token_type_ids.i32      (B, S) 0 for the first 3 positions, then 1 where real, 0 at pads
  seq_labels.i32          (B,) SEQ_LABELS
  token_labels.i32        (B, S) in [0, NUM_LABELS) from the same generator after the ids, -100 at pads
  base_hidden.f32         (B, S, hidden) AutoModel's last_hidden_state with mask and token types, eval mode,
                          sdpa attention (checked against eager)
OUT/<variant>/<case>_<task>/   case: prompt, prefix, prefix_projection, ptuning_mlp, ptuning_lstm, mpt (cases());
                          task: seq_cls, token_cls, feature (TASKS); no mpt_feature (PEFT's feature-extraction
                          forward cannot pass task_ids); each run starts with torch.manual_seed(SEED), loads the task
                          model (num_labels = NUM_LABELS) and calls get_peft_model:
  params.txt              one line per trainable tensor: name and shape ("embedding.weight 4 32")
  init__<name>.f32        every trainable tensor after get_peft_model. <name> is PEFT's in-memory name inside
                          prompt_encoder["default"] ("embedding.weight", "transform.0.weight",
                          "lstm_head.weight_ih_l0", "prefix_task_cols", ...) or, for the trainable copy of the
                          classification head, the key PEFT saves it under ("base_model.classifier.weight",
                          RoBERTa SEQ_CLS "base_model.classifier.dense.weight", ...)
  logits.f32              seq_cls: (B, C); token_cls: (B, S, C) at the caller's positions (the n leading virtual
                          positions of prompt methods dropped)
  hidden.f32              feature: last_hidden_state at the caller's positions, (B, S, hidden); pad positions
                          included (RoBERTa prompt methods: their position ids are not the pad id, see below)
  loss.f32                seq_cls, token_cls: PEFT's loss with labels
  grad__<name>.f32        the gradient of every trainable tensor (head included) of that loss; feature (PEFT has
                          no loss there): of sum(hidden.f32 ** 2) over the real positions
  after__<name>.f32       every trainable tensor after one torch.optim.AdamW step (LEARNING_RATE, WEIGHT_DECAY,
                          ADAMW_EPS; every trainable tensor in one group, biases decayed too)
  peft/                   the adapter as PEFT saves it, before the step
  peft_loaded_logits.f32  (peft_loaded_hidden.f32 for feature) the output of PeftModel.from_pretrained(base, peft/)
                          in eval mode, at the caller's positions. The base is loaded after
                          torch.manual_seed(SEED + 1), so that its own random head differs from the saved one and
                          the check that the loaded head comes from the file means something.
  SKIPPED                 instead of all the above when PEFT itself fails on the case; holds PEFT's error. With
                          PEFT 0.21.2 and transformers 5.24 that is prefix, prefix_projection x seq_cls, token_cls:
                          PEFT looks for a "past_key_values" parameter in the model's (and then the backbone's)
                          forward signature, and transformers 5.24 renamed it "cache" (past_key_values is only a
                          deprecated keyword alias), so PEFT raises "Model does not support past key values which
                          are required for prefix tuning." Feature extraction passes past_key_values as a keyword
                          without that check, and works.

How the forward is called (what the C++ API must reproduce):
  - the model is in eval mode (no dropout); attention_mask always given.
  - seq_cls, token_cls: token_type_ids are passed; PEFT prepends n zeros for prompt methods (prompt, P-tuning,
    MPT) and passes them unchanged for prefix tuning.
  - feature: token_type_ids are passed too and PEFT drops them (with a warning), so the model uses type 0 on every
    position; checked here by comparing with a call without them.
  - token_cls with prompt methods: PEFT does not extend labels (its logits have n + S positions), so n x -100 are
    prepended to the (B, S) labels here for the PEFT call; the C++ API takes (B, S) labels and does that itself.
  - MPT: task_ids = MPT_TASK_IDS.
  - Position ids (transformers' defaults; no position_ids are passed): BERT 0 .. n+S-1 for prompt methods, n .. n+S-1
    for prefix tuning (the cache length). RoBERTa prompt methods get inputs_embeds, so every one of the n + S
    positions, pads included, gets pad_token_id + 1 + index; RoBERTa prefix tuning gets input_ids, so real tokens get
    pad_token_id + n + cumsum(input_ids != pad_token_id) and pads pad_token_id.
  - Classification heads: transformers initialises the missing head at from_pretrained, right after the manual
    seed, as plain normal_(0, initializer_range) draws from the global generator (biases zero), in module order;
    PEFT's prompt initialisation then continues from that generator state. Checked here by replaying the draws
    (HEAD_DRAWS; RoBERTa's AutoModel also draws its missing pooler) and, for the prompt case, the table after them.
"""
import argparse
import os
import sys
import warnings

import numpy as np
import torch
from peft import (MultitaskPromptTuningConfig, PeftModel, PrefixTuningConfig, PromptEncoderConfig,
                  PromptTuningConfig, PromptTuningInit, TaskType, get_peft_model)
from safetensors.torch import load_file
from transformers import logging as transformers_logging
from transformers import (AutoModel, AutoModelForSequenceClassification, AutoModelForTokenClassification, BertConfig,
                          BertModel, RobertaConfig, RobertaForMaskedLM)

# Shared with the C tests.
SEED = 11
MODEL_SEED = 1234
BATCH_SEED = 2024
NUM_VIRTUAL_TOKENS = 4
BATCH, SEQ_LEN = 3, 7
ROW_LENGTHS = [7, 5, 3]
FIRST_SEGMENT = 3  # token type 0 for the first 3 positions
NUM_LABELS = 3
SEQ_LABELS = [2, 0, 1]
MPT_TASK_IDS = [0, 1, 2]
LEARNING_RATE, WEIGHT_DECAY = 0.01, 0.01
ADAMW_EPS = 1e-3  # see methods_reference.py: gradients near 0 make eps = 1e-8 updates noise-sensitive
ENCODER_HIDDEN_SIZE = 16

SIZES = dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
             type_vocab_size=2, hidden_act="gelu")
VARIANTS = {
    "bert": lambda: BertModel(BertConfig(**SIZES, max_position_embeddings=40, layer_norm_eps=1e-12, pad_token_id=0)),
    # max_position_embeddings = S_max + pad_token_id + 1: RoBERTa positions start at pad_token_id + 1.
    "roberta": lambda: RobertaForMaskedLM(RobertaConfig(**SIZES, max_position_embeddings=42, layer_norm_eps=1e-5,
                                                        pad_token_id=1, bos_token_id=0, eos_token_id=2)),
}
TASKS = {
    "seq_cls": (TaskType.SEQ_CLS, AutoModelForSequenceClassification),
    "token_cls": (TaskType.TOKEN_CLS, AutoModelForTokenClassification),
    "feature": (TaskType.FEATURE_EXTRACTION, AutoModel),
}
# The normal_(0, initializer_range) draws from_pretrained makes for missing weights, in order (biases are zeros).
HEAD_DRAWS = {
    ("bert", "seq_cls"): [("classifier.weight", (NUM_LABELS, 32))],
    ("bert", "token_cls"): [("classifier.weight", (NUM_LABELS, 32))],
    ("bert", "feature"): [],
    ("roberta", "seq_cls"): [("classifier.dense.weight", (32, 32)), ("classifier.out_proj.weight", (NUM_LABELS, 32))],
    ("roberta", "token_cls"): [("classifier.weight", (NUM_LABELS, 32))],
    ("roberta", "feature"): [("pooler.dense.weight", (32, 32))],
}
PREFIX_CASES = ("prefix", "prefix_projection")


def cases(task_type):
    common = dict(task_type=task_type, num_virtual_tokens=NUM_VIRTUAL_TOKENS)
    return {
        "prompt": (PromptTuningConfig(**common, prompt_tuning_init=PromptTuningInit.RANDOM), None),
        "prefix": (PrefixTuningConfig(**common), None),
        "prefix_projection": (PrefixTuningConfig(**common, prefix_projection=True,
                                                 encoder_hidden_size=ENCODER_HIDDEN_SIZE), None),
        "ptuning_mlp": (PromptEncoderConfig(**common, encoder_hidden_size=ENCODER_HIDDEN_SIZE), None),
        "ptuning_lstm": (PromptEncoderConfig(**common, encoder_reparameterization_type="LSTM",
                                             encoder_hidden_size=ENCODER_HIDDEN_SIZE, encoder_num_layers=2,
                                             encoder_dropout=0.0), None),
        "mpt": (MultitaskPromptTuningConfig(**common, num_tasks=3, num_ranks=2), MPT_TASK_IDS),
    }


def write(path, array, dtype=np.float32):
    np.ascontiguousarray(np.asarray(array, dtype=dtype)).tofile(path)


def randomize(model, seed):
    """Every stored tensor random and of a size that matters: transformers initialises biases to zero and norms to
    one, which would hide a dropped bias or norm affine in the C++ forward."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if "LayerNorm.weight" in name or "layer_norm.weight" in name:
                parameter.copy_(1.0 + 0.2 * noise)
            elif name.endswith("bias"):
                parameter.copy_(0.2 * noise)
            elif "embeddings" in name:
                parameter.copy_(0.5 * noise)
            else:
                parameter.copy_(noise / parameter.shape[-1] ** 0.5)


def write_model(variant, folder):
    torch.manual_seed(MODEL_SEED)
    model = VARIANTS[variant]()
    randomize(model, MODEL_SEED)
    model.save_pretrained(folder)


def make_batch(vocab_size, pad_id):
    generator = torch.Generator().manual_seed(BATCH_SEED)
    ids = torch.randint(3, vocab_size, (BATCH, SEQ_LEN), generator=generator)
    token_labels = torch.randint(0, NUM_LABELS, (BATCH, SEQ_LEN), generator=generator)
    mask = torch.zeros(BATCH, SEQ_LEN, dtype=torch.long)
    for row, length in enumerate(ROW_LENGTHS):
        mask[row, :length] = 1
    ids = ids.masked_fill(mask == 0, pad_id)
    token_types = (torch.arange(SEQ_LEN) >= FIRST_SEGMENT).long().expand(BATCH, -1) * mask
    return dict(input_ids=ids, attention_mask=mask, token_type_ids=token_types,
                seq_labels=torch.tensor(SEQ_LABELS), token_labels=token_labels.masked_fill(mask == 0, -100))


def load(model_class, folder, seed, attention="sdpa", **kwargs):
    torch.manual_seed(seed)
    return model_class.from_pretrained(folder, dtype=torch.float32, attn_implementation=attention, **kwargs)


def task_kwargs(task):
    return {} if task == "feature" else {"num_labels": NUM_LABELS}


def base_references(folder, out, batch):
    hidden = {}
    for attention in ("sdpa", "eager"):
        model = load(AutoModel, folder, SEED, attention).eval()
        with torch.no_grad():
            hidden[attention] = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                      token_type_ids=batch["token_type_ids"]).last_hidden_state
    difference = (hidden["sdpa"] - hidden["eager"]).abs().max().item()
    assert difference < 1e-5, f"sdpa and eager disagree by {difference}"
    write(os.path.join(out, "base_hidden.f32"), hidden["sdpa"])
    return difference


def check_head_rule(variant, task, initial, std, prompt_table):
    """The head is normal_(0, std) draws right after the seed; PEFT's prompt table is the next draw.
    initial: the model's parameters before get_peft_model; prompt_table: the prompt case's table, else None."""
    torch.manual_seed(SEED)
    for name, shape in HEAD_DRAWS[(variant, task)]:
        expected = torch.empty(shape).normal_(0.0, std)
        assert torch.equal(initial[name], expected), f"{variant} {task}: {name} is not the replayed draw"
        bias = initial[name[:-len("weight")] + "bias"]
        assert not bias.any(), f"{variant} {task}: bias of {name} is not zero"
    if prompt_table is not None:
        assert torch.equal(prompt_table, torch.empty(prompt_table.shape).normal_()), f"{variant} {task}: prompt table"


def head_parts(peft_model, part):
    """The head tensors inside PEFT's ModulesToSaveWrapper (part: its trainable copy or the original), by the key
    PEFT saves the copy under: base_model.classifier.modules_to_save.default.dense.weight ->
    base_model.classifier.dense.weight."""
    return {name.replace(part, "."): p for name, p in peft_model.named_parameters() if part in name}


def trainable(peft_model, saved_keys):
    """In-memory parameters under the names the C side uses: prompt-encoder names, saved names for the head."""
    params = {name: p for name, p in peft_model.prompt_encoder["default"].named_parameters() if p.requires_grad}
    for saved, p in head_parts(peft_model, ".modules_to_save.default.").items():
        assert p.requires_grad and saved in saved_keys, f"head {saved} not trainable or not saved: {sorted(saved_keys)}"
        params[saved] = p
    assert sum(p.numel() for p in params.values()) == sum(p.numel() for p in peft_model.parameters()
                                                          if p.requires_grad), "a trainable tensor is not listed"
    return params


def forward_kwargs(task, case, batch):
    kwargs = dict(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                  token_type_ids=batch["token_type_ids"])
    if task == "seq_cls":
        kwargs["labels"] = batch["seq_labels"]
    elif task == "token_cls":
        labels = batch["token_labels"]
        if case not in PREFIX_CASES:  # PEFT does not extend labels for prompt methods (spec 4.4)
            labels = torch.cat([torch.full((BATCH, NUM_VIRTUAL_TOKENS), -100), labels], dim=1)
        kwargs["labels"] = labels
    return kwargs


def output_of(task, output):
    """(name, tensor at the caller's positions)."""
    if task == "feature":
        hidden = output.last_hidden_state
        return "hidden", hidden[:, hidden.shape[1] - SEQ_LEN:]
    logits = output.logits
    return "logits", logits if task == "seq_cls" else logits[:, logits.shape[1] - SEQ_LEN:]


def run_case(variant, folder, out, task, case, config, task_ids, batch):
    task_type, model_class = TASKS[task]
    os.makedirs(out, exist_ok=True)
    model = load(model_class, folder, SEED, **task_kwargs(task))
    initial = {name: p.detach().clone() for name, p in model.named_parameters()}
    peft_model = get_peft_model(model, config)
    table = peft_model.prompt_encoder["default"].embedding.weight.detach() if case == "prompt" else None
    check_head_rule(variant, task, initial, model.config.initializer_range, table)
    peft_model.eval()
    extra = {} if task_ids is None else {"task_ids": torch.tensor(task_ids)}
    kwargs = forward_kwargs(task, case, batch)
    try:
        output = peft_model(**kwargs, **extra)
    except ValueError as error:
        if case in PREFIX_CASES and task != "feature":
            with open(os.path.join(out, "SKIPPED"), "w") as handle:
                handle.write(f"PEFT fails: {error}\n")
            return f"SKIPPED ({error})"
        raise

    peft_model.save_pretrained(os.path.join(out, "peft"))
    saved = load_file(os.path.join(out, "peft", "adapter_model.safetensors"))
    params = trainable(peft_model, saved.keys())
    with open(os.path.join(out, "params.txt"), "w") as handle:
        for name, p in params.items():
            handle.write(" ".join([name] + [str(size) for size in p.shape]) + "\n")
            write(os.path.join(out, f"init__{name}.f32"), p.detach())
            if name.startswith("base_model."):
                assert torch.equal(saved[name], p.detach()), f"saved head {name} differs from the model's"

    if task == "feature":  # PEFT drops token_type_ids here: the same as not passing them
        with torch.no_grad():
            without = peft_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], **extra)
        # With and without autograd the LSTM takes different CPU kernels (differences ~5e-7); token types
        # would change the output by O(1).
        gap = (without.last_hidden_state - output.last_hidden_state).abs().max().item()
        assert gap < 1e-5, f"feature: token types were not dropped (difference {gap})"
    output_name, value = output_of(task, output)
    write(os.path.join(out, f"{output_name}.f32"), value.detach())
    if task == "feature":  # PEFT has no loss here; a scalar of the real positions' features gives gradients
        loss = (value.square().sum(dim=-1) * batch["attention_mask"]).sum()
    else:
        loss = output.loss
        write(os.path.join(out, "loss.f32"), [loss.item()])
    loss.backward()
    for name, p in params.items():
        write(os.path.join(out, f"grad__{name}.f32"), p.grad)
    torch.optim.AdamW(list(params.values()), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY, eps=ADAMW_EPS).step()
    for name, p in params.items():
        write(os.path.join(out, f"after__{name}.f32"), p.detach())

    base = load(model_class, folder, SEED + 1, **task_kwargs(task))
    loaded = PeftModel.from_pretrained(base, os.path.join(out, "peft")).eval()
    copies, originals = head_parts(loaded, ".modules_to_save.default."), head_parts(loaded, ".original_module.")
    for key, tensor in saved.items():
        if key.startswith("base_model."):
            assert torch.equal(copies[key], tensor), f"loaded head {key} is not the file's"
            if key.endswith(".weight"):  # biases start at zero in both
                assert not torch.equal(originals[key], tensor), f"{key}: the base's own head equals the file's"
    assert len(copies) == sum(key.startswith("base_model.") for key in saved), "loaded head tensors not in the file"
    with torch.no_grad():
        loaded_output = loaded(**{k: v for k, v in kwargs.items() if k != "labels"}, **extra)
    _, loaded_value = output_of(task, loaded_output)
    write(os.path.join(out, f"peft_loaded_{output_name}.f32"), loaded_value)
    return f"max |loaded - trained| {(loaded_value - value.detach()).abs().max().item():.2e}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("variants", nargs="+", choices=sorted(VARIANTS))
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # tensors are tiny: more threads only add contention (3x slower on a busy 2-core box)
    # Expected and documented above: PEFT drops token types for feature extraction, transformers renames
    # past_key_values; PEFT still asks transformers the deprecated is_gradient_checkpointing.
    for message in ("Token type ids are not supported", "`past_key_values` is deprecated", "`is_gradient_checkpointing`"):
        warnings.filterwarnings("ignore", message=message)
    transformers_logging.set_verbosity_error()  # every load reports the head it initialises: expected, see above
    transformers_logging.disable_progress_bar()
    for variant in args.variants:
        folder = os.path.join(args.out, "models", variant)
        write_model(variant, folder)
        out = os.path.join(args.out, variant)
        os.makedirs(out, exist_ok=True)
        config = BertConfig.from_pretrained(folder) if variant == "bert" else RobertaConfig.from_pretrained(folder)
        batch = make_batch(config.vocab_size, config.pad_token_id)
        for name in ("input_ids", "attention_mask", "token_type_ids", "seq_labels", "token_labels"):
            write(os.path.join(out, f"{name}.i32"), batch[name], np.int32)
        difference = base_references(folder, out, batch)
        print(f"{variant}: base hidden written (sdpa vs eager {difference:.2e})")
        for task, (task_type, _) in TASKS.items():
            for case, (peft_config, task_ids) in cases(task_type).items():
                if task == "feature" and task_ids is not None:
                    continue  # PEFT's feature-extraction forward cannot pass task_ids
                status = run_case(variant, folder, os.path.join(out, f"{case}_{task}"), task, case, peft_config,
                                  task_ids, batch)
                print(f"{variant} {case}_{task}: {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
