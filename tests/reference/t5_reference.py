"""Reference outputs of transformers and PEFT for T5 (SEQ_2_SEQ_LM), original T5 and T5 v1.1/Flan (test tool only).

Usage: t5_reference.py --out OUT t5 t5v11 t5gelu t5silu. Every file is raw little-endian (float32 .f32, int32
.i32), row-major; the C side knows the shapes from the constants below and the model config. The layout, the
constants shared with the C tests (SEED, MODEL_SEED, BATCH_SEED, NUM_VIRTUAL_TOKENS, the AdamW settings), cases()
and the checks on the loaded base and on the prompt draws are encoder_reference.py's (imported); what is T5's is
described here.

OUT/models/<variant>/     a tiny random T5ForConditionalGeneration written by transformers 5.24 (config.json,
                          generation_config.json, model.safetensors): built after torch.manual_seed(T5_MODEL_SEED),
                          every tensor then redrawn by encoder_reference.randomize(model, T5_MODEL_SEED) (norms
                          1 + 0.2 N(0,1), matrices N(0,1) / sqrt(fan_in)), every attention output (o) and
                          feed-forward output (wo) matrix then multiplied by OUTPUT_GAIN = 3, and from a generator
                          seeded T5_MODEL_SEED + 1: shared.weight N(0,1) * SHARED_STD (0.5), each
                          relative_attention_bias.weight N(0,1) * BIAS_STD (1.0: without it the logits move by 1.7
                          (t5), 5.5 (t5v11), 1.7 (t5gelu) and 4.2 (t5silu), asserted > 0.1), and for t5v11 and
                          t5silu lm_head.weight N(0,1) * LM_HEAD_STD (0.3). Why these sizes: T5 does not divide its
                          attention scores by sqrt(d_kv), so larger q/k matrices saturate the softmax; with a tied
                          lm_head and embeddings of std 1 (and block outputs of std ~1) the residual copy of the input
                          embedding decides the next token, and greedy generation of t5 only repeated its start
                          token 0 (126 of 126 steps); with these sizes the blocks decide (t5: 49 of 126 steps repeat
                          the previous token, every case generates differently). T5_MODEL_SEED = MODEL_SEED + 3 is
                          the first of MODEL_SEED + 0..3 with no greedy step closer to a tie than 0.005 in t5 or
                          t5v11 (new_tokens refuses < MIN_MARGIN = 1e-3; t5silu's smallest margin is 0.060).
  t5      original T5 (v1) style. config.json as save_pretrained writes it: vocab_size 96, d_model 32, d_kv 8,
          num_heads 4, d_ff 48, num_layers 2, num_decoder_layers 2, relative_attention_num_buckets 8,
          relative_attention_max_distance 20, feed_forward_proj "relu" (dense_act_fn "relu", is_gated_act false),
          dropout_rate 0.1, layer_norm_epsilon 1e-6, decoder_start_token_id 0, pad_token_id 0, eos_token_id 1,
          "tie_word_embeddings": true and "scale_decoder_outputs": true (transformers 5 writes both; real t5-small
          files have neither, and tie_word_embeddings absent means true). The decoder output is multiplied by
          d_model**-0.5 before lm_head, and lm_head is shared.weight. model.safetensors holds shared.weight only
          (no encoder/decoder embed_tokens, no lm_head).
  t5v11   T5 v1.1 / Flan style: vocab_size 100, d_model 32, d_kv 8, num_heads 4, d_ff 40, num_layers 3,
          num_decoder_layers 3, relative_attention_num_buckets 16, relative_attention_max_distance 32,
          feed_forward_proj "gated-gelu" (dense_act_fn "gelu_new" = tanh-approximated GELU, is_gated_act true:
          wo(gelu_new(wi_0 x) * wi_1 x)), dropout_rate 0.1, layer_norm_epsilon 1e-6, decoder_start 0, pad 0, eos 1,
          "tie_word_embeddings": false and NO "scale_decoder_outputs" key (as the hub's flan-t5 files; the file
          save_pretrained wrote is edited). model.safetensors holds shared.weight, a distinct lm_head.weight and
          encoder.embed_tokens.weight (= shared.weight, as older hub checkpoints store it: a loader must accept
          it). transformers 5.24 forces config.tie_word_embeddings = True in memory but keeps a stored lm_head
          whose values differ from shared (it warns "will NOT tie them"), and tie_word_embeddings false in the
          file sets scale_decoder_outputs False: no scaling. check_model asserts both after from_pretrained.
  t5gelu  base only (below): t5's sizes, buckets, tying and scaling (tied lm_head, "scale_decoder_outputs": true,
          shared.weight only), but feed_forward_proj "gelu" (dense_act_fn "gelu" = the EXACT erf GELU, not gated:
          wo(gelu(wi x))) and num_decoder_layers 3 against num_layers 2: a decoder deeper than the encoder, so that
          a loader that sizes the decoder by num_layers, or feeds it with the encoder's blocks, fails. The two GELUs
          differ by at most 4.7e-4 (about 2e-4 of the activation): the tanh one moves this model's encoder output by
          9.5e-4 (asserted > 5e-4; twice the C suite's bound for it) and its logits by 5.3e-4.
  t5silu  base only: t5v11's sizes, buckets, untied lm_head and files (lm_head.weight, encoder.embed_tokens.weight,
          "tie_word_embeddings": false, no scale_decoder_outputs: no scaling), but feed_forward_proj "gated-silu"
          (dense_act_fn "silu", is_gated_act true: wo(silu(wi_0 x) * wi_1 x)) and num_layers = num_decoder_layers
          = 2.
          num_heads * d_kv == d_model in every variant (PEFT's prefix table has d = d_model columns per block and
          views them as (num_heads, d_model / num_heads)). All four are drawn by the same recipe and seed.
OUT/<variant>/            the batch (the same draws for every variant, from its vocab_size: t5gelu's ids equal t5's,
                          t5silu's equal t5v11's):
  input_ids.i32           (B, S) = (3, 22) encoder ids in [3, vocab) from torch.Generator().manual_seed(BATCH_SEED),
                          real lengths 22, 13, 3 (ROW_LENGTHS), right padded with 0 (the pad id)
  attention_mask.i32      (B, S)
  labels.i32              (B, T) = (3, 5) target ids in [2, vocab) from the same generator after input_ids, real
                          lengths 5, 4, 2 (TARGET_LENGTHS), -100 after
  decoder_input_ids.i32   (B, T) model._shift_right(labels): 0 (decoder start), then labels[:, :-1] with -100 -> 0.
                          For reference only: every forward here derives them itself (labels given, no
                          decoder_input_ids, no decoder_attention_mask: all T decoder positions are attended, causal).
  base_logits.f32         (B, T, vocab) the base model (no adapter, eval mode, sdpa; checked against eager)
  base_loss.f32           its loss
  base_encoder_hidden.f32 (B, S, d_model) the encoder's last_hidden_state (pad positions included: a pad query
                          attends to the real keys, so they are defined)
  base_generated.i32      (B, G) = (3, 6) model.generate(input_ids, attention_mask, max_new_tokens=G, do_sample=False,
                          num_beams=1): the new ids, the leading decoder start token removed; a row that emitted eos
                          (1) continues with pad (0) as transformers returns it; if every row ended before G steps,
                          the columns transformers did not return are filled with 0 and the note says so
  base_generated_margin.f32  (B, G) per row and step, the raw logit of the chosen id minus the runner-up's (0 after
                          the row's eos): how close a greedy choice was to a tie
  base_generated_note.txt only if a row emitted eos: which row, at which step
                          (base_generated*: not for t5gelu, whose generate transformers cannot run, see below)
OUT/<variant>/<case>/     t5 and t5v11 only (t5gelu and t5silu are base only, see below).
                          case: prompt, prefix, prefix_projection, ptuning_mlp, ptuning_lstm (cases() of
                          encoder_reference: RANDOM init, encoder_hidden_size 16, LSTM 2 layers, dropout 0) and mpt
                          (num_tasks 2, num_ranks 2, task_ids MPT_TASK_IDS = [1, 0, 1] in every forward and generate);
                          no task suffix (the task is always SEQ_2_SEQ_LM); num_virtual_tokens n = 4, and
                          num_transformer_submodules is PEFT's default for SEQ_2_SEQ_LM, m = 2. Each run starts with
                          torch.manual_seed(SEED), loads the base with T5ForConditionalGeneration.from_pretrained
                          (which draws nothing: asserted) and calls get_peft_model; eval mode throughout:
  params.txt, init__<name>.f32, grad__<name>.f32, after__<name>.f32, peft/   as encoder_reference.py (the loss is
                          PEFT's; one AdamW step with LEARNING_RATE, WEIGHT_DECAY, ADAMW_EPS; peft/ saved before it)
  logits.f32              (B, T, vocab) PEFT's forward(input_ids, attention_mask, labels[, task_ids]) at the caller's
                          decoder positions (MPT prepends n decoder positions: dropped)
  loss.f32                its loss
  peft_loaded_logits.f32  the same forward of PeftModel.from_pretrained(base loaded after manual_seed(SEED + 1),
                          peft/) in eval mode
  generated.i32, generated_margin.f32, generated_note.txt   as base_generated*, from the LOADED adapter:
                          peft_model.generate(input_ids=, attention_mask=, max_new_tokens=G, do_sample=False,
                          num_beams=1[, task_ids]); asserted equal to the trained adapter's generation (eval mode,
                          before the AdamW step)
  DIRECT_CALL             prefix and prefix_projection only, one line: generated.i32 (and its margins) are not PEFT's
                          plain generate, see below. Every other file there is PEFT's own.

Prefix generation (DIRECT_CALL): PEFT 0.21.2's seq2seq prepare_inputs_for_generation puts get_prompt(B) into
model_kwargs["past_key_values"] at the prefill step, but transformers 5.24 hands the model its own (empty)
EncoderDecoderCache under "cache", and T5's forward then warns "Both `past_key_values` and `cache` are set ...
ignoring deprecated `past_key_values`": the prefix is dropped silently and the generation is the base model's
(checked: equal to base_generated.i32). The script diagnoses exactly that warning, then generates again with
peft_generate_cache.pass_cache_under_its_old_name (the cache handed to PEFT under the name it reads, so PEFT's own
per-step rules run as written: spec 5.2, the decoder self-attention cache replaced by get_prompt(B) at the prefill
step only). That output is written and asserted equal to an independent greedy decoding (manual_t5 below).

Base-only variants (t5gelu, t5silu): the models and the base files only, no method case folders (kept small; and
on t5gelu, whose decoder has more layers than the encoder, PEFT's prefix tuning is created but its forward fails with
the same IndexError as generate below). t5gelu has no generation reference: transformers 5.24's generate fails on
every T5 with num_decoder_layers != num_layers. It builds DynamicCache(config=...) (generation/utils.py,
_prepare_cache_for_generation), whose layers follow config.num_hidden_layers, which T5's attribute_map maps to
num_layers, the ENCODER's count; the decoder's layer 2 then updates a cache layer that does not exist: IndexError
"list index out of range" in cache_utils.py Cache.update. Asserted on every run (check_generate_fails), so that a
transformers that generates there makes the script fail and ask for the reference. The plain forward with labels
(no cache) works and gives base_logits, base_loss and base_encoder_hidden as for the others.

What the C++ side must reproduce (every point asserted on every run by manual_t5, an independent re-implementation
of T5 from its weights, against transformers/PEFT to < 1e-4, and where noted a plausible wrong rule is shown to
differ by > 1e-3):
  - T5 blocks: RMSNorm without mean and bias (weight * x / sqrt(mean(x^2) + eps)), pre-norm; self-attention without
    1/sqrt(d_kv) scaling, plus the relative position bias of layer 0 of the stack (shared by its later layers);
    decoder blocks: self-attention, cross-attention (no position bias, encoder mask), feed-forward; final norms.
    num_layers encoder blocks and num_decoder_layers decoder blocks (t5gelu: 2 and 3).
  - Feed-forward, no biases, by feed_forward_proj: "relu" wo(relu(wi x)); "gelu" wo(gelu(wi x)) with the exact
    (erf) GELU; "gated-gelu" wo(gelu_tanh(wi_0 x) * wi_1 x) (transformers' gelu_new); "gated-silu"
    wo(silu(wi_0 x) * wi_1 x). Wrong rules (check_feed_forward): the tanh GELU for "gelu" moves t5gelu's encoder
    output by 9.5e-4 (> 5e-4, about twice the C suite's bound there, asserted), the tanh GELU for "gated-silu"
    differs by > 1e-3.
  - Relative buckets (transformers' _relative_position_bucket, float32 log): encoder bidirectional, decoder
    unidirectional; relative = key position - query position. Bucket coverage of this batch: t5 encoder |r| <= 21
    (base) / 25 (prompt methods): exact, log and CLAMPED (|r| >= 20) buckets; t5 decoder distance <= 9: exact and
    log buckets 4-6; t5v11 encoder |r| <= 25: exact and log buckets 4-7 (the clamp starts at 32); t5v11 decoder
    distance <= 9: exact and log bucket 8; t5gelu as t5 and t5silu as t5v11 (the same buckets and batch). Boundary
    hazard: where log(r / max_exact) / log(max_distance / max_exact) * (buckets - max_exact) is an exact integer
    (e.g. t5v11 decoder distance 16 -> 12.0) float32 rounding decides; compute it as torch does (float32 log,
    float32 division by the double constant rounded to float32).
  - Loss: mean cross-entropy of the decoder logits (no shift) over labels != -100 (MPT: PEFT's n prepended -100
    change nothing).
  - Prompt tuning, P-tuning: the prompt module gives 2n rows (m = 2); only rows 0..n-1 are inserted, in front of the
    ENCODER embeddings, encoder mask [1]*n ++ mask; the virtual tokens are ordinary encoder positions 0..n-1 and the
    real tokens n..n+S-1 (relative bias depends on differences only, so only their contiguity and order matter);
    decoder unchanged. Gradients: prompt tuning and P-tuning MLP rows n..2n-1 get exactly zero; P-tuning LSTM runs
    over all 2n rows and the backward direction gives rows n..2n-1 a nonzero gradient (asserted).
  - MPT (m = 2), training forward: encoder gets P[:, :n] as above; decoder inputs_embeds = cat(P[:, n:2n],
    shared[shift_right(labels)]) (n decoder positions in front of the T usual ones, decoder positions 0..n+T-1, causal
    over all), labels get n x -100 in front: logits at the caller's positions are positions n..n+T-1. All 2n rows get
    gradient. Generation uses the encoder prompts P[:, :n] only (no decoder prompts: PEFT's train/inference
    mismatch) and starts the decoder from the start token as usual.
  - Prefix tuning (m = 2): encoder and cross-attention get nothing. The (n, 2*L*d) table (L = num_layers = 2, the
    ENCODER layer count PEFT reads from num_layers/num_hidden_layers) feeds only the decoder self-attention:
    decoder layer l reads slot s = (2l) mod L, K = columns [2s*d, (2s+1)*d), V = [(2s+1)*d, (2s+2)*d), head h at
    [h*d_kv, (h+1)*d_kv) inside each block. With L = 2 (t5) both decoder layers read slot 0 and slot 1 (columns
    2d..4d, or the rows 2d..4d of transform.2 with projection) never gets a gradient; with L = 3 (t5v11) the layers
    read slots 0, 2, 1, so that neither "always slot 0" nor "layer l reads slot l" fits (asserted: exactly the slots
    read get a gradient, and the wrong rules' logits differ). Wrong rule "layer l reads slot
    l" differs. The prefix keys sit at decoder positions 0..n-1, the decoder tokens at n..n+T-1 (transformers'
    past_seen_tokens = n), so decoder query i is at position n+i for the relative bias; wrong rule "queries at 0..T-1"
    differs. Every decoder query sees all n prefix keys (and its causal past); wrong rule "query i sees concatenated
    key index <= i" differs. Generation: at the prefill step the decoder start token is query position n, each later
    step continues at n+1, n+2, ... (asserted by manual greedy decoding over the whole decoder sequence).
"""
import argparse
import json
import math
import os
import sys
import time
import traceback
import warnings

import numpy as np
import torch
from peft import MultitaskPromptTuningConfig, PeftModel, TaskType, get_peft_model
from safetensors.torch import load_file, save_file
from transformers import T5Config, T5ForConditionalGeneration

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encoder_reference import (ADAMW_EPS, BATCH_SEED, LEARNING_RATE, MODEL_SEED, NUM_VIRTUAL_TOKENS,  # noqa: E402
                               PREFIX_CASES, SEED, WEIGHT_DECAY, cases, check_head_rule, check_loaded_base, load,
                               randomize, setup, trainable, write)
from peft_generate_cache import pass_cache_under_its_old_name  # noqa: E402

# Shared with the C tests.
BATCH, SEQ_LEN, TARGET_LEN, NEW_TOKENS = 3, 22, 5, 6
ROW_LENGTHS = [22, 13, 3]
TARGET_LENGTHS = [5, 4, 2]
MPT_TASKS, MPT_RANKS, MPT_TASK_IDS = 2, 2, [1, 0, 1]
# The models (see the docstring): MODEL_SEED + 3, the first of MODEL_SEED + 0..3 whose greedy generations are neither
# stuck on one token nor near a tie (min margin >= MIN_MARGIN) in both variants.
T5_MODEL_SEED = MODEL_SEED + 3
SHARED_STD, BIAS_STD, LM_HEAD_STD, OUTPUT_GAIN = 0.5, 1.0, 0.3, 3.0
MIN_MARGIN = 1e-3
PAD_ID, EOS_ID, START_ID = 0, 1, 0

COMMON = dict(d_model=32, d_kv=8, num_heads=4, num_layers=2, num_decoder_layers=2, decoder_start_token_id=START_ID,
              pad_token_id=PAD_ID, eos_token_id=EOS_ID)
VARIANTS = {  # T5Config arguments, and whether the decoder output is scaled by d_model**-0.5 (tied lm_head)
    "t5": (dict(COMMON, vocab_size=96, d_ff=48, relative_attention_num_buckets=8, relative_attention_max_distance=20,
                feed_forward_proj="relu"), True),
    "t5v11": (dict(COMMON, vocab_size=100, d_ff=40, relative_attention_num_buckets=16,
                   relative_attention_max_distance=32, feed_forward_proj="gated-gelu", num_layers=3,
                   num_decoder_layers=3), False),
    "t5gelu": (dict(COMMON, vocab_size=96, d_ff=48, relative_attention_num_buckets=8,
                    relative_attention_max_distance=20, feed_forward_proj="gelu", num_decoder_layers=3), True),
    "t5silu": (dict(COMMON, vocab_size=100, d_ff=40, relative_attention_num_buckets=16,
                    relative_attention_max_distance=32, feed_forward_proj="gated-silu"), False),
}
MATCH, DIFFER = 1e-4, 1e-3  # manual_t5 against transformers; a wrong rule must be at least DIFFER away
BASE_ONLY = ("t5gelu", "t5silu")  # no method cases (docstring)
# manual_t5's own reading of feed_forward_proj: (activation, gated). "gelu" is the exact (erf) GELU, "gated-gelu" the
# tanh one (transformers' gelu_new).
FEED_FORWARD = {"relu": (torch.relu, False),
                "gelu": (lambda x: torch.nn.functional.gelu(x, approximate="none"), False),
                "gated-gelu": (lambda x: torch.nn.functional.gelu(x, approximate="tanh"), True),
                "gated-silu": (torch.nn.functional.silu, True)}
# The plausible wrong reading of feed_forward_proj, and the least max |difference| by which it must move the variant's
# encoder output (check_feed_forward). The two GELUs differ by at most 4.7e-4 (at |x| = 2.7), about
# 2e-4 of the activation: t5gelu's encoder output moves by 9.5e-4, twice the C suite's bound there (4.5e-4, the
# tolerance rule), and a larger wi does not widen that gap (the activations grow with it).
WRONG_FEED_FORWARD = {"gelu": ("tanh GELU", (FEED_FORWARD["gated-gelu"][0], False), 5e-4),
                      "gated-silu": ("tanh GELU", FEED_FORWARD["gated-gelu"], DIFFER)}
CACHE_CONFLICT = "Both `past_key_values` and `cache` are set"


def write_model(variant, folder):
    config, scaled = VARIANTS[variant]
    torch.manual_seed(T5_MODEL_SEED)
    model = T5ForConditionalGeneration(T5Config(**config))
    randomize(model, T5_MODEL_SEED)
    generator = torch.Generator().manual_seed(T5_MODEL_SEED + 1)
    with torch.no_grad():
        model.shared.weight.copy_(SHARED_STD * torch.randn(model.shared.weight.shape, generator=generator))
        for name, parameter in model.named_parameters():
            if name.endswith("relative_attention_bias.weight"):
                parameter.copy_(BIAS_STD * torch.randn(parameter.shape, generator=generator))
            elif name.endswith((".o.weight", ".wo.weight")):
                parameter.mul_(OUTPUT_GAIN)
    model.save_pretrained(folder)
    if scaled:
        return
    # v1.1 as the hub stores it: its own lm_head, the encoder's copy of the embedding, tie_word_embeddings false.
    path = os.path.join(folder, "model.safetensors")
    tensors = load_file(path)
    tensors["lm_head.weight"] = LM_HEAD_STD * torch.randn(tensors["shared.weight"].shape, generator=generator)
    tensors["encoder.embed_tokens.weight"] = tensors["shared.weight"].clone()
    save_file(tensors, path, metadata={"format": "pt"})
    path = os.path.join(folder, "config.json")
    with open(path) as handle:
        stored = json.load(handle)
    del stored["scale_decoder_outputs"]
    stored["tie_word_embeddings"] = False
    with open(path, "w") as handle:
        json.dump(stored, handle, indent=2, sort_keys=True)
        handle.write("\n")


def check_model(variant, folder):
    """from_pretrained gives the stored tensors, the stored lm_head (t5v11) or shared (t5), and the scaling rule."""
    _, scaled = VARIANTS[variant]
    model = load(T5ForConditionalGeneration, folder, SEED)
    check_loaded_base(variant, model, folder, [])
    stored = load_file(os.path.join(folder, "model.safetensors"))
    assert model.config.scale_decoder_outputs == scaled, f"{variant}: scale_decoder_outputs"
    if scaled:
        assert "lm_head.weight" not in stored and model.lm_head.weight is model.shared.weight, f"{variant}: lm_head"
    else:
        assert torch.equal(model.lm_head.weight, stored["lm_head.weight"]), f"{variant}: lm_head is not the stored one"
        assert not torch.equal(model.lm_head.weight, model.shared.weight), f"{variant}: lm_head tied"
    assert model.encoder.embed_tokens.weight is model.shared.weight, f"{variant}: encoder embedding not shared"


def make_batch(vocab_size, model):
    generator = torch.Generator().manual_seed(BATCH_SEED)
    ids = torch.randint(3, vocab_size, (BATCH, SEQ_LEN), generator=generator)
    labels = torch.randint(2, vocab_size, (BATCH, TARGET_LEN), generator=generator)
    mask = (torch.arange(SEQ_LEN)[None, :] < torch.tensor(ROW_LENGTHS)[:, None]).long()
    target = torch.arange(TARGET_LEN)[None, :] < torch.tensor(TARGET_LENGTHS)[:, None]
    labels = labels.masked_fill(~target, -100)
    return dict(input_ids=ids.masked_fill(mask == 0, PAD_ID), attention_mask=mask, labels=labels,
                decoder_input_ids=model._shift_right(labels))


# ---- An independent T5 forward (checks every rule the docstring states) ----

def bucket(relative, bidirectional, num_buckets, max_distance):
    offset = torch.zeros_like(relative)
    if bidirectional:
        num_buckets //= 2
        offset = (relative > 0).long() * num_buckets
        distance = relative.abs()
    else:
        distance = (-relative).clamp(min=0)
    exact = num_buckets // 2
    scaled = torch.log(distance.float() / exact) / math.log(max_distance / exact) * (num_buckets - exact)
    large = (exact + scaled.long()).clamp(max=num_buckets - 1)  # log(0) = -inf only where distance < exact
    return offset + torch.where(distance < exact, distance, large)


def manual_t5(model, scaled, enc_embeds, enc_mask, dec_embeds, prefix=None, query_offset=None, causal_prefix=False,
              feed_forward_rule=None):
    """(encoder output, logits) from the weights. prefix: per decoder layer (K, V) of (B, H, n, d_kv), keys at
    decoder positions 0..n-1, the decoder tokens at n.. . query_offset (default n), causal_prefix and
    feed_forward_rule ((activation, gated), default FEED_FORWARD[feed_forward_proj]): wrong rules."""
    config, weights = model.config, {k: v.detach() for k, v in model.state_dict().items()}
    feed_forward_rule = feed_forward_rule or FEED_FORWARD[config.feed_forward_proj]
    heads, head_dim, eps = config.num_heads, config.d_kv, config.layer_norm_epsilon

    def norm(x, name):
        return weights[name] * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    def split(x):
        return x.view(x.shape[0], x.shape[1], heads, head_dim).transpose(1, 2)

    def attention(name, x, memory, bias, visible, kv_prefix=None):
        q = split(x @ weights[name + "q.weight"].T)
        k = split(memory @ weights[name + "k.weight"].T)
        v = split(memory @ weights[name + "v.weight"].T)
        if kv_prefix is not None:
            k, v = torch.cat([kv_prefix[0], k], dim=2), torch.cat([kv_prefix[1], v], dim=2)
        scores = (q @ k.transpose(-1, -2) + bias).masked_fill(~visible, float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v
        return out.transpose(1, 2).reshape(x.shape[0], x.shape[1], -1) @ weights[name + "o.weight"].T

    def feed_forward(name, x):
        activation, gated = feed_forward_rule
        if gated:
            inner = activation(x @ weights[name + "wi_0.weight"].T) * (x @ weights[name + "wi_1.weight"].T)
        else:
            inner = activation(x @ weights[name + "wi.weight"].T)
        return inner @ weights[name + "wo.weight"].T

    def position_bias(stack, relative, bidirectional):
        table = weights[f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
        return table[bucket(relative, bidirectional, config.relative_attention_num_buckets,
                            config.relative_attention_max_distance)].permute(2, 0, 1)[None]

    positions = torch.arange(enc_embeds.shape[1])
    bias = position_bias("encoder", positions[None, :] - positions[:, None], True)
    visible = enc_mask.bool()[:, None, None, :]
    hidden = enc_embeds
    for layer in range(config.num_layers):
        name = f"encoder.block.{layer}.layer."
        normed = norm(hidden, name + "0.layer_norm.weight")
        hidden = hidden + attention(name + "0.SelfAttention.", normed, normed, bias, visible)
        hidden = hidden + feed_forward(name + "1.DenseReluDense.", norm(hidden, name + "1.layer_norm.weight"))
    encoded = norm(hidden, "encoder.final_layer_norm.weight")

    n, length = (0 if prefix is None else prefix[0][0].shape[2]), dec_embeds.shape[1]
    keys = torch.arange(n + length)
    queries = torch.arange(length) + (n if query_offset is None else query_offset)
    bias = position_bias("decoder", keys[None, :] - queries[:, None], False)
    if causal_prefix:
        self_visible = keys[None, :] <= torch.arange(length)[:, None]
    else:
        self_visible = keys[None, :] <= torch.arange(length)[:, None] + n
    hidden = dec_embeds
    for layer in range(config.num_decoder_layers):
        name = f"decoder.block.{layer}.layer."
        normed = norm(hidden, name + "0.layer_norm.weight")
        hidden = hidden + attention(name + "0.SelfAttention.", normed, normed, bias, self_visible,
                                    None if prefix is None else prefix[layer])
        hidden = hidden + attention(name + "1.EncDecAttention.", norm(hidden, name + "1.layer_norm.weight"), encoded,
                                    0.0, visible)
        hidden = hidden + feed_forward(name + "2.DenseReluDense.", norm(hidden, name + "2.layer_norm.weight"))
    hidden = norm(hidden, "decoder.final_layer_norm.weight")
    if scaled:
        hidden = hidden * config.d_model ** -0.5
    head = weights["shared.weight"] if scaled else weights["lm_head.weight"]
    return encoded, hidden @ head.T


def prefix_kv(table, config, batch, slot_of=lambda layer, num_layers: (2 * layer) % num_layers):
    """Per decoder layer (K, V) from the flat (n, 2*L*d) table: slot s -> K block 2s, V block 2s+1."""
    d, num_layers = config.d_model, config.num_layers

    def block(index):
        part = table[:, index * d:(index + 1) * d].reshape(table.shape[0], config.num_heads, config.d_kv)
        return part.transpose(0, 1)[None].expand(batch, -1, -1, -1)

    slots = [slot_of(layer, num_layers) for layer in range(config.num_decoder_layers)]
    return [(block(2 * s), block(2 * s + 1)) for s in slots]


def manual_greedy(model, scaled, enc_embeds, enc_mask, prefix=None):
    """Greedy decoding by the whole decoder sequence at every step (no cache), eos -> pad afterwards."""
    shared = model.shared.weight.detach()
    tokens = torch.full((enc_embeds.shape[0], 1), START_ID)
    running = torch.ones(enc_embeds.shape[0], dtype=torch.bool)
    for _ in range(NEW_TOKENS):
        _, logits = manual_t5(model, scaled, enc_embeds, enc_mask, shared[tokens], prefix)
        chosen = torch.where(running, logits[:, -1].argmax(-1), PAD_ID)
        running &= chosen != EOS_ID
        tokens = torch.cat([tokens, chosen[:, None]], dim=1)
        if not running.any():
            break
    return tokens[:, 1:]


def inserted(peft_model, case, batch, task_ids):
    """What the adapter puts where, taken from its tensors: (encoder embeddings, encoder mask, decoder prompts or
    None, prefix table or None)."""
    n = NUM_VIRTUAL_TOKENS
    embeds = peft_model.get_base_model().shared.weight.detach()[batch["input_ids"]]
    mask = batch["attention_mask"]
    encoder = peft_model.prompt_encoder["default"]
    if case in PREFIX_CASES:
        inference = peft_model.active_peft_config.inference_mode
        table = encoder.embedding.weight if inference else encoder(torch.arange(n)[None])[0]
        return embeds, mask, None, table.detach()
    prompts = peft_model.get_prompt(BATCH, task_ids=task_ids).detach()
    assert prompts.shape[1] == 2 * n, f"{case}: prompt rows {prompts.shape[1]} (m = 2 gives 2n)"
    return (torch.cat([prompts[:, :n], embeds], dim=1), torch.cat([torch.ones(BATCH, n, dtype=torch.long), mask], 1),
            prompts[:, n:] if case == "mpt" else None, None)


def check_close(label, expected, actual, limit=MATCH):
    gap = (expected - actual).abs().max().item()
    assert gap < limit, f"{label}: manual T5 differs from transformers by {gap:.2e}"
    return gap


def check_forward(label, model, scaled, case, parts, batch, logits):
    """manual_t5 reproduces PEFT's logits at the caller's positions; the wrong prefix rules do not."""
    enc_embeds, enc_mask, dec_prompts, table = parts
    dec_embeds = model.shared.weight.detach()[batch["decoder_input_ids"]]
    if dec_prompts is not None:
        dec_embeds = torch.cat([dec_prompts, dec_embeds], dim=1)
    prefix = None if table is None else prefix_kv(table, model.config, BATCH)
    with torch.no_grad():
        _, manual = manual_t5(model, scaled, enc_embeds, enc_mask, dec_embeds, prefix)
        gap = check_close(label, logits, manual[:, -TARGET_LEN:])
        if table is None:
            return gap
        wrong = {"slot l for layer l": dict(prefix=prefix_kv(table, model.config, BATCH, lambda layer, _: layer)),
                 "queries at 0..T-1": dict(prefix=prefix, query_offset=0),
                 "query i sees key index <= i": dict(prefix=prefix, causal_prefix=True)}
        for rule, kwargs in wrong.items():
            _, other = manual_t5(model, scaled, enc_embeds, enc_mask, dec_embeds, **kwargs)
            assert (other - logits).abs().max() > DIFFER, f"{label}: wrong rule '{rule}' is not distinguishable"
    return gap


# ---- Generation ----

def new_tokens(out, label):
    """(ids (B, G), margins (B, G), note lines) from generate(return_dict_in_generate, output_logits). A step
    closer to a tie than MIN_MARGIN would make the reference fragile: refused."""
    sequences, logits = out.sequences, torch.stack(out.logits, dim=1)
    assert (sequences[:, 0] == START_ID).all(), f"{label}: generation does not start with the decoder start id"
    ids = torch.full((BATCH, NEW_TOKENS), PAD_ID, dtype=torch.long)
    steps = sequences.shape[1] - 1
    ids[:, :steps] = sequences[:, 1:]
    margins = torch.zeros(BATCH, NEW_TOKENS)
    notes = []
    for row in range(BATCH):
        for step in range(steps):
            top = torch.topk(logits[row, step], 2)
            if ids[row, step] != top.indices[0]:
                raise RuntimeError(f"{label}: greedy id is not the argmax of its raw logits")
            margins[row, step] = top.values[0] - top.values[1]
            if margins[row, step] < MIN_MARGIN:
                raise RuntimeError(f"{label}: row {row} step {step} is a near tie ({margins[row, step]:.1e})")
            if ids[row, step] == EOS_ID:
                notes.append(f"row {row}: eos at step {step}; the later ids are pad ({PAD_ID}) as transformers returns")
                break
    if steps < NEW_TOKENS:
        notes.append(f"every row ended after {steps} steps: columns {steps}..{NEW_TOKENS - 1} filled with pad here")
    return ids, margins, notes


def smallest(margins):
    """The smallest margin of a step that chose freely (after eos the margins are 0)."""
    return margins[margins > 0].min().item()


def greedy_kwargs(batch, task_ids):
    extra = {} if task_ids is None else {"task_ids": task_ids}
    return dict(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], max_new_tokens=NEW_TOKENS,
                do_sample=False, num_beams=1, return_dict_in_generate=True, output_logits=True, **extra)


def peft_generate(peft_model, case, batch, task_ids, base_ids):
    """PEFT's generate; for prefix tuning the diagnosed cache conflict (docstring) is detected and the generation
    redone with the cache under the name PEFT reads. Returns (out, reason for DIRECT_CALL or None)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with torch.no_grad():
            out = peft_model.generate(**greedy_kwargs(batch, task_ids))
    conflict = [str(w.message) for w in caught if CACHE_CONFLICT in str(w.message)]
    if not conflict:
        return out, None
    if case not in PREFIX_CASES:
        raise RuntimeError(f"{case}: unexpected cache conflict in generate: {conflict[0]}")
    plain, _, _ = new_tokens(out, case)
    same = torch.equal(plain, base_ids)
    assert same, f"{case}: PEFT's generate warned that it drops the prefix, yet does not generate as the base model"
    pass_cache_under_its_old_name(peft_model)
    with torch.no_grad():
        out = peft_model.generate(**greedy_kwargs(batch, task_ids))
    return out, (f"PEFT 0.21.2's generate on transformers 5.24 drops the prefix (T5 warns '{CACHE_CONFLICT}' and "
                 "ignores past_key_values; its ids equal base_generated.i32); generated.i32 and generated_margin.f32 "
                 "come from PEFT's generate with peft_generate_cache.pass_cache_under_its_old_name (spec 5.2: the "
                 "decoder self-attention cache is get_prompt(B) from the prefill step on), checked against an "
                 "independent greedy decoding\n")


def write_generation(out, prefix, ids, margins, notes):
    write(os.path.join(out, f"{prefix}generated.i32"), ids, np.int32)
    write(os.path.join(out, f"{prefix}generated_margin.f32"), margins)
    if notes:
        with open(os.path.join(out, f"{prefix}generated_note.txt"), "w") as handle:
            handle.write("\n".join(notes) + "\n")


def manual_generation(label, model, scaled, parts, ids):
    enc_embeds, enc_mask, _, table = parts
    prefix = None if table is None else prefix_kv(table, model.config, BATCH)
    with torch.no_grad():
        expected = manual_greedy(model, scaled, enc_embeds, enc_mask, prefix)
    assert torch.equal(expected, ids[:, :expected.shape[1]]), f"{label}: manual greedy {expected} != {ids}"


# ---- References ----

def base_references(variant, folder, out, batch):
    _, scaled = VARIANTS[variant]
    inputs = dict(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"])
    outputs = {}
    for attention in ("sdpa", "eager"):
        model = load(T5ForConditionalGeneration, folder, SEED, attention).eval()
        with torch.no_grad():
            outputs[attention] = model(**inputs)
    gap = (outputs["sdpa"].logits - outputs["eager"].logits).abs().max().item()
    assert gap < 1e-5 * max(1.0, outputs["eager"].logits.abs().max().item()), f"{variant}: sdpa vs eager {gap}"
    output = outputs["sdpa"]
    write(os.path.join(out, "base_logits.f32"), output.logits)
    write(os.path.join(out, "base_loss.f32"), [output.loss.item()])
    write(os.path.join(out, "base_encoder_hidden.f32"), output.encoder_last_hidden_state)
    check_loss(variant, output.logits, batch["labels"], output.loss)

    shared = model.shared.weight.detach()
    with torch.no_grad():
        encoded, logits = manual_t5(model, scaled, shared[batch["input_ids"]], batch["attention_mask"],
                                    shared[batch["decoder_input_ids"]])
        check_close(f"{variant} base encoder", output.encoder_last_hidden_state, encoded)
        check_close(f"{variant} base logits", output.logits, logits)
        wrong_feed_forward = check_feed_forward(variant, model, scaled, batch, output)
        for parameter in (p for name, p in model.named_parameters() if "relative_attention_bias" in name):
            parameter.zero_()
        effect = (model(**inputs).logits - output.logits).abs().max().item()
    assert effect > 0.1, f"{variant}: the relative position bias changes the logits by only {effect}"

    status = f"sdpa vs eager {gap:.1e}, bias effect {effect:.2f}{wrong_feed_forward}"
    model = load(T5ForConditionalGeneration, folder, SEED).eval()
    if model.config.num_decoder_layers != model.config.num_layers:
        check_generate_fails(variant, model, batch)
        return None, status + ", no generation reference (transformers' generate fails on it)"
    with torch.no_grad():
        ids, margins, notes = new_tokens(model.generate(**greedy_kwargs(batch, None)), variant)
    write_generation(out, "base_", ids, margins, notes)
    manual_generation(f"{variant} base", model, scaled, (shared[batch["input_ids"]], batch["attention_mask"], None,
                                                         None), ids)
    return ids, f"{status}, min margin {smallest(margins):.3f}"


def check_feed_forward(variant, model, scaled, batch, output):
    """The plausible wrong activation (WRONG_FEED_FORWARD) moves the encoder output by more than its bound. Returns
    the status text ("" for the feed-forward kinds without one)."""
    if model.config.feed_forward_proj not in WRONG_FEED_FORWARD:
        return ""
    name, rule, least = WRONG_FEED_FORWARD[model.config.feed_forward_proj]
    shared = model.shared.weight.detach()
    with torch.no_grad():
        encoded, logits = manual_t5(model, scaled, shared[batch["input_ids"]], batch["attention_mask"],
                                    shared[batch["decoder_input_ids"]], feed_forward_rule=rule)
    encoder_effect = (encoded - output.encoder_last_hidden_state).abs().max().item()
    logits_effect = (logits - output.logits).abs().max().item()
    assert encoder_effect > least, f"{variant}: the {name} moves the encoder output by only {encoder_effect:.1e}"
    return f", {name}: encoder {encoder_effect:.1e}, logits {logits_effect:.1e}"


def check_generate_fails(variant, model, batch):
    """transformers 5.24's generate on num_decoder_layers != num_layers (docstring): IndexError in the cache."""
    try:
        with torch.no_grad():
            model.generate(**greedy_kwargs(batch, None))
    except IndexError as error:
        frames = traceback.extract_tb(error.__traceback__)
        assert frames[-1].filename.endswith(os.path.join("transformers", "cache_utils.py")), \
            f"{variant}: generate fails elsewhere than in the cache: {frames[-1]}"
        return
    raise RuntimeError(f"{variant}: transformers' generate now works with num_decoder_layers != num_layers: write "
                       "base_generated.i32 for it (and let the C suite compare it)")


def check_loss(label, logits, labels, loss):
    """Mean cross-entropy over labels != -100 of the logits as they are (no shift)."""
    expected = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                                 ignore_index=-100)
    assert abs(expected.item() - loss.item()) < 1e-5, f"{label}: loss {loss.item()} is not the unshifted CE"


def check_gradients(label, case, params, config):
    """Which rows / columns of the prompt tensors the loss reaches (docstring)."""
    n, d = NUM_VIRTUAL_TOKENS, config.d_model
    table = params["embedding.weight"].grad
    if case in ("prompt", "ptuning_mlp"):
        assert not table[n:].any() and table[:n].abs().min() > 0, f"{label}: rows n..2n-1 must get zero gradient"
    elif case in ("ptuning_lstm", "mpt"):
        assert (table[n:].abs().sum(1) > 0).all(), f"{label}: rows n..2n-1 must get a gradient"
    elif case in ("prefix", "prefix_projection"):
        # Per slot s (2d columns of the table, 2d rows of transform.2): a gradient exactly where some decoder
        # layer l reads it, s = (2l) mod L.
        num_layers = config.num_layers
        used = {(2 * layer) % num_layers for layer in range(config.num_decoder_layers)}
        grad = table if case == "prefix" else params["transform.2.weight"].grad.t()
        for slot in range(num_layers):
            block = grad[:, 2 * slot * d:2 * (slot + 1) * d]
            if slot in used:
                assert block.abs().sum(0).min() > 0, f"{label}: slot {slot} is read but gets no gradient"
            else:
                assert not block.any(), f"{label}: slot {slot} is read by no layer but gets a gradient"


def run_case(label, variant, folder, out, case, config, task_ids, batch, base_ids):
    _, scaled = VARIANTS[variant]
    os.makedirs(out, exist_ok=True)
    model = load(T5ForConditionalGeneration, folder, SEED)
    rng_after_load = torch.get_rng_state()
    peft_model = get_peft_model(model, config)
    check_head_rule(label, [], {}, 0.0, rng_after_load, case, peft_model.prompt_encoder["default"])
    peft_model.eval()
    task_ids = None if task_ids is None else torch.tensor(task_ids)
    extra = {} if task_ids is None else {"task_ids": task_ids}
    inputs = dict(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"])
    output = peft_model(**inputs, **extra)
    logits = output.logits[:, -TARGET_LEN:]
    assert output.logits.shape[1] == TARGET_LEN + (NUM_VIRTUAL_TOKENS if case == "mpt" else 0), f"{label}: length"
    check_loss(label, logits, batch["labels"], output.loss)
    write(os.path.join(out, "logits.f32"), logits.detach())
    write(os.path.join(out, "loss.f32"), [output.loss.item()])
    gap = check_forward(label, model, scaled, case, inserted(peft_model, case, batch, task_ids), batch, logits.detach())

    generated, direct = peft_generate(peft_model, case, batch, task_ids, base_ids)
    trained_ids, _, _ = new_tokens(generated, label)

    peft_model.save_pretrained(os.path.join(out, "peft"))
    params = trainable(peft_model, load_file(os.path.join(out, "peft", "adapter_model.safetensors")).keys())
    with open(os.path.join(out, "params.txt"), "w") as handle:
        for name, p in params.items():
            handle.write(" ".join([name] + [str(size) for size in p.shape]) + "\n")
            write(os.path.join(out, f"init__{name}.f32"), p.detach())
    output.loss.backward()
    check_gradients(label, case, params, model.config)
    for name, p in params.items():
        write(os.path.join(out, f"grad__{name}.f32"), p.grad)
    torch.optim.AdamW(list(params.values()), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY, eps=ADAMW_EPS).step()
    for name, p in params.items():
        write(os.path.join(out, f"after__{name}.f32"), p.detach())

    base = load(T5ForConditionalGeneration, folder, SEED + 1)
    loaded = PeftModel.from_pretrained(base, os.path.join(out, "peft")).eval()
    with torch.no_grad():
        loaded_logits = loaded(**inputs, **extra).logits[:, -TARGET_LEN:]
    write(os.path.join(out, "peft_loaded_logits.f32"), loaded_logits)
    generated, loaded_direct = peft_generate(loaded, case, batch, task_ids, base_ids)
    assert (direct is None) == (loaded_direct is None), f"{label}: trained and loaded generate differently"
    ids, margins, notes = new_tokens(generated, label)
    assert torch.equal(ids, trained_ids), f"{label}: loaded adapter generates {ids}, trained {trained_ids}"
    write_generation(out, "", ids, margins, notes)
    manual_generation(label, base, scaled, inserted(loaded, case, batch, task_ids), ids)
    if direct:
        with open(os.path.join(out, "DIRECT_CALL"), "w") as handle:
            handle.write(direct)
    return (f"{'DIRECT_CALL generation, ' if direct else ''}manual {gap:.1e}, max |loaded - trained| "
            f"{(loaded_logits - logits.detach()).abs().max().item():.1e}, min margin {smallest(margins):.3f}")


def seq2seq_cases():
    """encoder_reference's cases for SEQ_2_SEQ_LM, MPT with this tool's tasks and task ids."""
    configs = cases(TaskType.SEQ_2_SEQ_LM)
    mpt = MultitaskPromptTuningConfig(task_type=TaskType.SEQ_2_SEQ_LM, num_virtual_tokens=NUM_VIRTUAL_TOKENS,
                                      num_tasks=MPT_TASKS, num_ranks=MPT_RANKS)
    configs["mpt"] = (mpt, MPT_TASK_IDS)
    return configs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("variants", nargs="+", choices=sorted(VARIANTS))
    args = parser.parse_args()
    setup()
    started = time.time()
    for variant in args.variants:
        folder = os.path.join(args.out, "models", variant)
        write_model(variant, folder)
        check_model(variant, folder)
        out = os.path.join(args.out, variant)
        os.makedirs(out, exist_ok=True)
        batch = make_batch(VARIANTS[variant][0]["vocab_size"], load(T5ForConditionalGeneration, folder, SEED))
        for name in ("input_ids", "attention_mask", "labels", "decoder_input_ids"):
            write(os.path.join(out, f"{name}.i32"), batch[name], np.int32)
        base_ids, status = base_references(variant, folder, out, batch)
        print(f"{variant} base: {status}")
        if variant in BASE_ONLY:
            continue
        for case, (config, task_ids) in seq2seq_cases().items():
            status = run_case(f"{variant} {case}", variant, folder, os.path.join(out, case), case, config, task_ids,
                              batch, base_ids)
            print(f"{variant} {case}: {status}")
    print(f"done in {time.time() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
