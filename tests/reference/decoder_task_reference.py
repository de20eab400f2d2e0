"""Reference outputs of transformers and PEFT for decoder models (Llama, Qwen2, GPT-2) on SEQ_CLS, TOKEN_CLS and
FEATURE_EXTRACTION (test tool only).

Usage: decoder_task_reference.py --models DIR --out OUT llama qwen2 gpt2. DIR holds the tiny model folders the test
suite makes (make_tiny_model <variant> DIR/<variant>); sizes and vocabulary come from their config.json.

The file layout, the constants, the cases and every check are encoder_reference.py's (its docstring describes them;
this script imports its pieces), so that one C suite reads both. What differs:
  - no OUT/models/: the models are DIR's, read only. OUT/<variant>/ holds the batch, base_hidden.f32 and the
    <case>_<task> directories.
  - no token_type_ids.i32: decoders get no token types (none are passed; GPT-2 would add token-type embeddings).
  - every model is loaded with num_labels (tasks) and pad_token_id = PAD_TOKEN_ID = 0 for every task (the
    checkpoints set none, and transformers' decoder SEQ_CLS refuses batches > 1 without one). Ids are drawn from
    [3, vocab), so 0 is never a real token. (The embedding's padding_idx becomes 0 too; that changes no value, the
    table is the checkpoint's, which check_loaded_base asserts, and it is frozen.)
  - LEFT padding for every task: rows of real length 7, 5, 3 (ROW_LENGTHS), pads first (id 0, mask 0), the same ids
    and token labels as the encoders' generator gives (token_labels -100 at pads). Why: for SEQ_CLS PEFT's prompt
    methods pass inputs_embeds, so transformers pools the LAST column whatever the padding (spec quirk 5), and the
    prefix direct call passes input_ids, so transformers pools the rightmost id != pad_token_id, also the last
    column; softprompt pools each row's last real token (last attention-mask 1). With left padding all three are
    the same position.
  - positions (transformers' defaults, no position_ids passed; Llama/Qwen2 RoPE, GPT-2 learned wpe) count columns,
    pads included: the plain model 0 .. S-1, prompt methods 0 .. n+S-1 (so a row of real length L has its tokens
    at n+S-L .. n+S-1, spec quirk 2), prefix tuning n .. n+S-1 (the cache length). softprompt numbers them the same
    way for training and evaluation. Mask: query column i sees key column j <= i where the mask is 1, and all
    n prefix keys (prefix tuning) resp. the n virtual tokens (prompt methods, mask ones prepended).
  - base_hidden.f32: pad positions are written as 0. A left pad query of the plain model sees no key at all (causal
    and masked), which transformers' sdpa and eager paths resolve differently (up to 4 apart); compare real
    positions only. The sdpa/eager check covers the real positions. In the prompt and prefix cases every pad query
    sees the virtual tokens or the prefix, so hidden.f32 and token logits at pads are defined and written as they are.
  - DIRECT_CALL in prefix, prefix_projection x seq_cls, token_cls, as in encoder_reference.py: transformers 5.24's
    decoder task classes (GenericForSequenceClassification / GenericForTokenClassification behind Llama and Qwen2,
    GPT2ForSequenceClassification, GPT2ForTokenClassification) and their backbones name the parameter `cache`
    (past_key_values is a deprecated keyword alias), so PEFT 0.21.2 raises "Model does not support past key values
    which are required for prefix tuning."; the files hold the spec 4.3 direct call
    base_model(input_ids, attention_mask = cat(ones(B, n), mask), past_key_values = get_prompt(B), labels).
    Nothing is SKIPPED.

Heads (PEFT's modules_to_save copy; saved as base_model.<head>.<param>): Llama/Qwen2 SEQ_CLS score (no bias),
TOKEN_CLS score (with bias: token_classification_bias is unset, default True); GPT-2 SEQ_CLS score (no bias), TOKEN_CLS
classifier (with bias). from_pretrained draws exactly the head weight, normal_(0, initializer_range = 0.02), right
after the seed (biases zero); AutoModel (feature) draws nothing: the checkpoint's lm_head.weight (Llama; Qwen2 and
GPT-2 tie it and store none) is unexpected and ignored, GPT-2's extra _init_weights rules (Conv1D, scaled c_proj) touch
only loaded tensors and draw nothing. PEFT's prompt / MPT tensors are the next draws. run_case checks all of this on
every run.
"""
import argparse
import os
import sys

from transformers import AutoConfig

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from encoder_reference import NUM_LABELS, make_batch, run_variant, setup  # noqa: E402

VARIANTS = ("llama", "qwen2", "gpt2")
PAD_TOKEN_ID = 0


def head_draws(variant, hidden_size):
    """task -> the from_pretrained draws (encoder_reference.HEAD_DRAWS' form)."""
    token_head = "classifier" if variant == "gpt2" else "score"
    return {"seq_cls": [("score.weight", (NUM_LABELS, hidden_size))],
            "token_cls": [(f"{token_head}.weight", (NUM_LABELS, hidden_size))],
            "feature": []}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", required=True, help="folder with one make_tiny_model folder per variant")
    parser.add_argument("--out", required=True)
    parser.add_argument("variants", nargs="+", choices=VARIANTS)
    args = parser.parse_args()
    setup()
    for variant in args.variants:
        folder = os.path.join(args.models, variant)
        config = AutoConfig.from_pretrained(folder)
        batch = make_batch(config.vocab_size, PAD_TOKEN_ID, left_padding=True)
        run_variant(variant, folder, os.path.join(args.out, variant), batch, head_draws(variant, config.hidden_size),
                    pads_undefined=True, pad_token_id=PAD_TOKEN_ID)
    return 0


if __name__ == "__main__":
    sys.exit(main())
