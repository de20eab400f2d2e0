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
  DIRECT_CALL             present (one line: why) where PEFT's own forward fails on the case and every file above
                          holds instead the spec's (section 4.3) definition, the call PEFT makes when the model's
                          forward accepts past_key_values: peft_model.base_model(input_ids, token_type_ids,
                          attention_mask = cat(ones(B, n), attention_mask), past_key_values =
                          peft_model.get_prompt(B), labels), for the trained and for the loaded adapter alike (peft/
                          is still PEFT's save_pretrained). With PEFT 0.21.2 and transformers 5.24 that is prefix,
                          prefix_projection x seq_cls, token_cls: PEFT looks for a "past_key_values" parameter in the
                          model's (and then the backbone's) forward signature, and transformers 5.24 renamed it
                          "cache" (past_key_values is only a deprecated keyword alias), so PEFT raises "Model does
                          not support past key values which are required for prefix tuning." Feature extraction
                          passes past_key_values as a keyword without that check, and works. (These directories
                          held only a file SKIPPED before; no case is skipped now.)

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
    (HEAD_DRAWS; RoBERTa's AutoModel also draws its missing pooler), by checking the generator state after loading
    equals the state after those draws alone, that every other parameter is the checkpoint's tensor, and, for the
    prompt and MPT cases, the prompt tensors drawn after them.

tests/reference/decoder_task_reference.py writes the same layout for decoders (Llama, Qwen2, GPT-2) and imports
this module's pieces (make_batch, run_variant, ...).
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


def make_batch(vocab_size, pad_id, left_padding=False):
    """Encoders: right padding and token types; decoders (left_padding): pads first, no token types."""
    generator = torch.Generator().manual_seed(BATCH_SEED)
    ids = torch.randint(3, vocab_size, (BATCH, SEQ_LEN), generator=generator)
    token_labels = torch.randint(0, NUM_LABELS, (BATCH, SEQ_LEN), generator=generator)
    mask = torch.zeros(BATCH, SEQ_LEN, dtype=torch.long)
    for row, length in enumerate(ROW_LENGTHS):
        if left_padding:
            mask[row, SEQ_LEN - length:] = 1
        else:
            mask[row, :length] = 1
    ids = ids.masked_fill(mask == 0, pad_id)
    batch = dict(input_ids=ids, attention_mask=mask, seq_labels=torch.tensor(SEQ_LABELS),
                 token_labels=token_labels.masked_fill(mask == 0, -100))
    if not left_padding:
        batch["token_type_ids"] = (torch.arange(SEQ_LEN) >= FIRST_SEGMENT).long().expand(BATCH, -1) * mask
    return batch


def load(model_class, folder, seed, attention="sdpa", **kwargs):
    torch.manual_seed(seed)
    return model_class.from_pretrained(folder, dtype=torch.float32, attn_implementation=attention, **kwargs)


def task_kwargs(task):
    return {} if task == "feature" else {"num_labels": NUM_LABELS}


def model_inputs(batch):
    """What every forward gets: ids, mask and, where the batch has them (encoders), token types."""
    return {name: batch[name] for name in ("input_ids", "attention_mask", "token_type_ids") if name in batch}


def base_references(folder, out, batch, pads_undefined=False, **load_kwargs):
    """pads_undefined (left-padded decoders): a pad query sees no key at all, which sdpa and eager resolve
    differently, so pad positions are compared nowhere and written as zeros."""
    hidden = {}
    for attention in ("sdpa", "eager"):
        model = load(AutoModel, folder, SEED, attention, **load_kwargs).eval()
        with torch.no_grad():
            hidden[attention] = model(**model_inputs(batch)).last_hidden_state
        if pads_undefined:
            hidden[attention] = hidden[attention] * batch["attention_mask"][..., None]
    difference = (hidden["sdpa"] - hidden["eager"]).abs().max().item()
    assert difference < 1e-5, f"sdpa and eager disagree by {difference}"
    write(os.path.join(out, "base_hidden.f32"), hidden["sdpa"])
    return difference


def check_loaded_base(label, model, folder, draws):
    """Every parameter but the drawn head is the checkpoint's tensor (under its name with or without the base
    prefix), and the drawn ones are exactly the missing ones."""
    stored = load_file(os.path.join(folder, "model.safetensors"))
    prefix = model.base_model_prefix + "."
    drawn = {name for name, _ in draws} | {name[:-len("weight")] + "bias" for name, _ in draws}
    for name, p in model.named_parameters():
        keys = [key for key in (name, prefix + name, name.removeprefix(prefix)) if key in stored]
        if name in drawn:
            assert not keys, f"{label}: {name} is in the checkpoint but was drawn"
        else:
            assert keys and torch.equal(p, stored[keys[0]]), f"{label}: {name} is not the checkpoint's tensor"


def check_head_rule(label, draws, initial, std, rng_after_load, case, prompt_encoder):
    """The head is normal_(0, std) draws right after the seed, nothing else is drawn by from_pretrained, and
    PEFT's prompt table (prompt, MPT; MPT then its two factors) is the next draw.
    initial: the model's parameters before get_peft_model; rng_after_load: the generator state after loading."""
    torch.manual_seed(SEED)
    for name, shape in draws:
        expected = torch.empty(shape).normal_(0.0, std)
        assert torch.equal(initial[name], expected), f"{label}: {name} is not the replayed draw"
        bias = initial.get(name[:-len("weight")] + "bias")
        assert bias is None or not bias.any(), f"{label}: bias of {name} is not zero"
    assert torch.equal(torch.get_rng_state(), rng_after_load), f"{label}: from_pretrained drew more than the head"
    if case in ("prompt", "mpt"):
        table = prompt_encoder.embedding.weight.detach()
        assert torch.equal(table, torch.empty(table.shape).normal_()), f"{label}: prompt table"
    if case == "mpt":  # MultitaskPromptEmbedding.__init__: torch.normal(0, 0.02) for the columns, then the rows
        for name in ("prefix_task_cols", "prefix_task_rows"):
            factor = getattr(prompt_encoder, name).detach()
            assert torch.equal(factor, torch.normal(0.0, 0.02, size=factor.shape)), f"{label}: MPT {name}"


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
    kwargs = model_inputs(batch)
    if task == "seq_cls":
        kwargs["labels"] = batch["seq_labels"]
    elif task == "token_cls":
        labels = batch["token_labels"]
        if case not in PREFIX_CASES:  # PEFT does not extend labels for prompt methods (spec 4.4)
            labels = torch.cat([torch.full((BATCH, NUM_VIRTUAL_TOKENS), -100), labels], dim=1)
        kwargs["labels"] = labels
    return kwargs


def direct_prefix_call(peft_model, kwargs):
    """Spec 4.3: PEFT's prefix-tuning forward where the model's forward accepts past_key_values (its mask
    extension included: float ones, so the concatenated mask is float)."""
    prefix_mask = torch.ones(BATCH, NUM_VIRTUAL_TOKENS)
    kwargs = dict(kwargs, attention_mask=torch.cat((prefix_mask, kwargs["attention_mask"]), dim=1))
    return peft_model.base_model(past_key_values=peft_model.get_prompt(BATCH), **kwargs)


def is_prefix_signature_failure(task, case, error):
    """PEFT 0.21.2 on transformers 5.24 (see DIRECT_CALL above); anything else is a real error."""
    return case in PREFIX_CASES and task != "feature" and "does not support past key values" in str(error)


def output_of(task, output):
    """(name, tensor at the caller's positions)."""
    if task == "feature":
        hidden = output.last_hidden_state
        return "hidden", hidden[:, hidden.shape[1] - SEQ_LEN:]
    logits = output.logits
    return "logits", logits if task == "seq_cls" else logits[:, logits.shape[1] - SEQ_LEN:]


def run_case(label, folder, out, task, case, config, task_ids, batch, draws, load_kwargs):
    """label: for messages; draws: HEAD_DRAWS' list for this model and task; load_kwargs: extra from_pretrained
    arguments (decoders: pad_token_id)."""
    task_type, model_class = TASKS[task]
    os.makedirs(out, exist_ok=True)
    model = load(model_class, folder, SEED, **task_kwargs(task), **load_kwargs)
    rng_after_load = torch.get_rng_state()
    initial = {name: p.detach().clone() for name, p in model.named_parameters()}
    check_loaded_base(label, model, folder, draws)
    peft_model = get_peft_model(model, config)
    check_head_rule(label, draws, initial, model.config.initializer_range, rng_after_load, case,
                    peft_model.prompt_encoder["default"])
    peft_model.eval()
    extra = {} if task_ids is None else {"task_ids": torch.tensor(task_ids)}
    kwargs = forward_kwargs(task, case, batch)
    direct = False
    try:
        output = peft_model(**kwargs, **extra)
    except ValueError as error:
        if not is_prefix_signature_failure(task, case, error):
            raise
        direct = True
        with open(os.path.join(out, "DIRECT_CALL"), "w") as handle:
            handle.write(f"PEFT fails ({error}); outputs are of base_model(past_key_values=get_prompt(B), "
                         "attention_mask=[1]*n ++ mask), spec 4.3\n")
        output = direct_prefix_call(peft_model, kwargs)

    peft_model.save_pretrained(os.path.join(out, "peft"))
    saved = load_file(os.path.join(out, "peft", "adapter_model.safetensors"))
    params = trainable(peft_model, saved.keys())
    with open(os.path.join(out, "params.txt"), "w") as handle:
        for name, p in params.items():
            handle.write(" ".join([name] + [str(size) for size in p.shape]) + "\n")
            write(os.path.join(out, f"init__{name}.f32"), p.detach())
            if name.startswith("base_model."):
                assert torch.equal(saved[name], p.detach()), f"saved head {name} differs from the model's"

    if task == "feature" and "token_type_ids" in batch:  # PEFT drops token_type_ids here: the same as not passing them
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

    base = load(model_class, folder, SEED + 1, **task_kwargs(task), **load_kwargs)
    loaded = PeftModel.from_pretrained(base, os.path.join(out, "peft")).eval()
    copies, originals = head_parts(loaded, ".modules_to_save.default."), head_parts(loaded, ".original_module.")
    for key, tensor in saved.items():
        if key.startswith("base_model."):
            assert torch.equal(copies[key], tensor), f"loaded head {key} is not the file's"
            if key.endswith(".weight"):  # biases start at zero in both
                assert not torch.equal(originals[key], tensor), f"{key}: the base's own head equals the file's"
    assert len(copies) == sum(key.startswith("base_model.") for key in saved), "loaded head tensors not in the file"
    inputs = {k: v for k, v in kwargs.items() if k != "labels"}
    with torch.no_grad():
        loaded_output = direct_prefix_call(loaded, inputs) if direct else loaded(**inputs, **extra)
    _, loaded_value = output_of(task, loaded_output)
    write(os.path.join(out, f"peft_loaded_{output_name}.f32"), loaded_value)
    how = "direct call, " if direct else ""
    return f"{how}max |loaded - trained| {(loaded_value - value.detach()).abs().max().item():.2e}"


def run_variant(variant, folder, out, batch, draws, pads_undefined=False, **load_kwargs):
    """Writes out/ (OUT/<variant>/): the batch, base_hidden.f32 and every <case>_<task> directory.
    draws: task -> HEAD_DRAWS' list; pads_undefined, load_kwargs: see base_references and run_case."""
    os.makedirs(out, exist_ok=True)
    for name in ("input_ids", "attention_mask", "token_type_ids", "seq_labels", "token_labels"):
        if name in batch:
            write(os.path.join(out, f"{name}.i32"), batch[name], np.int32)
    difference = base_references(folder, out, batch, pads_undefined, **load_kwargs)
    print(f"{variant}: base hidden written (sdpa vs eager {difference:.2e})")
    for task, (task_type, _) in TASKS.items():
        for case, (peft_config, task_ids) in cases(task_type).items():
            if task == "feature" and task_ids is not None:
                continue  # PEFT's feature-extraction forward cannot pass task_ids
            status = run_case(f"{variant} {case}_{task}", folder, os.path.join(out, f"{case}_{task}"), task, case,
                              peft_config, task_ids, batch, draws[task], load_kwargs)
            print(f"{variant} {case}_{task}: {status}")


def setup():
    """Deterministic single-threaded torch, the expected warnings and load reports silenced."""
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # tensors are tiny: more threads only add contention (3x slower on a busy 2-core box)
    # Expected and documented above: PEFT drops token types for feature extraction, transformers renames
    # past_key_values; PEFT still asks transformers the deprecated is_gradient_checkpointing.
    for message in ("Token type ids are not supported", "`past_key_values` is deprecated", "`is_gradient_checkpointing`"):
        warnings.filterwarnings("ignore", message=message)
    transformers_logging.set_verbosity_error()  # every load reports the head it initialises: expected, see above
    transformers_logging.disable_progress_bar()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("variants", nargs="+", choices=sorted(VARIANTS))
    args = parser.parse_args()
    setup()
    for variant in args.variants:
        folder = os.path.join(args.out, "models", variant)
        write_model(variant, folder)
        config = BertConfig.from_pretrained(folder) if variant == "bert" else RobertaConfig.from_pretrained(folder)
        batch = make_batch(config.vocab_size, config.pad_token_id)
        draws = {task: HEAD_DRAWS[(variant, task)] for task in TASKS}
        run_variant(variant, folder, os.path.join(args.out, variant), batch, draws)
    return 0


if __name__ == "__main__":
    sys.exit(main())
