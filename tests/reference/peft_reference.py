"""Reference outputs from Hugging Face transformers and PEFT, for the C conformance tests.

Test tool only: the library never runs Python. For every tiny model folder it writes, under OUT/<variant>/:

  input_ids.i32, attention_mask.i32, labels.i32   the batch (3 rows, right padding), row-major int32
  base_logits.f32                                  transformers logits, (B, S, V)
  pt_init/                                         a PEFT-saved prompt-tuning adapter folder (RANDOM init)
  pt_logits.f32                                    PEFT logits at the real positions, (B, S, V)
  pt_loss.f32                                      PEFT loss on the batch
  pt_row_log_likelihood.f32                        per row, the sum of log p(target) from PEFT's logits
  pt_grad.f32                                      gradient of the prompt table, (n, d)
  pt_after_step.f32                                the table after one torch.optim.AdamW step
  init_random.f32, init_sample_vocab.f32, init_text.f32   tables PEFT initialises (seed 7; TEXT from ids 5, 6, 7)

Every file is raw little-endian data; the C side knows the shapes from the model and the constants below.
"""
import argparse
import os
import sys
from unittest import mock

import numpy as np
import torch
from peft import PeftModel, PromptTuningConfig, PromptTuningInit, TaskType, get_peft_model
from transformers import AutoModelForCausalLM

# Shared with tests/c/conformance_constants.h.
NUM_VIRTUAL_TOKENS = 5
BATCH, SEQ_LEN = 3, 7
ROW_LENGTHS = [7, 5, 3]
INIT_SEED = 7
TEXT_INIT_IDS = [5, 6, 7]
TEXT_INIT_TOKENS = 8
LEARNING_RATE, WEIGHT_DECAY = 0.01, 0.01


def write(path, array, dtype):
    np.ascontiguousarray(np.asarray(array, dtype=dtype)).tofile(path)


def load_model(folder):
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="sdpa")
    model.eval()
    return model


def make_batch(vocab_size):
    generator = torch.Generator().manual_seed(2024)
    ids = torch.randint(3, vocab_size, (BATCH, SEQ_LEN), generator=generator)
    mask = torch.zeros(BATCH, SEQ_LEN, dtype=torch.long)
    for row, length in enumerate(ROW_LENGTHS):
        mask[row, :length] = 1
    ids = ids.masked_fill(mask == 0, 0)
    labels = ids.masked_fill(mask == 0, -100)
    return ids, mask, labels


class FakeTokenizer:
    """Stands in for AutoTokenizer so that PEFT's own TEXT path (cut or repeat) runs on fixed ids."""

    def __call__(self, text):
        return {"input_ids": list(TEXT_INIT_IDS)}


def init_table(folder, init, out_path):
    model = load_model(folder)
    kwargs = {}
    if init == PromptTuningInit.TEXT:
        kwargs = dict(prompt_tuning_init_text="fixed ids", tokenizer_name_or_path="fake")
        tokens = TEXT_INIT_TOKENS
    else:
        tokens = NUM_VIRTUAL_TOKENS
    config = PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=tokens, prompt_tuning_init=init, **kwargs)
    torch.manual_seed(INIT_SEED)
    with mock.patch("transformers.AutoTokenizer.from_pretrained", return_value=FakeTokenizer()):
        peft_model = get_peft_model(model, config)
    write(out_path, peft_model.prompt_encoder["default"].embedding.weight.detach(), np.float32)


def references(folder, out):
    os.makedirs(out, exist_ok=True)
    model = load_model(folder)
    ids, mask, labels = make_batch(model.config.vocab_size)
    write(os.path.join(out, "input_ids.i32"), ids, np.int32)
    write(os.path.join(out, "attention_mask.i32"), mask, np.int32)
    write(os.path.join(out, "labels.i32"), labels, np.int32)
    with torch.no_grad():
        write(os.path.join(out, "base_logits.f32"), model(input_ids=ids, attention_mask=mask).logits, np.float32)

    config = PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=NUM_VIRTUAL_TOKENS)
    torch.manual_seed(INIT_SEED)
    peft_model = get_peft_model(model, config)
    peft_model.save_pretrained(os.path.join(out, "pt_init"))
    table = peft_model.prompt_encoder["default"].embedding.weight
    output = peft_model(input_ids=ids, attention_mask=mask, labels=labels)
    write(os.path.join(out, "pt_logits.f32"), output.logits[:, NUM_VIRTUAL_TOKENS:].detach(), np.float32)
    write(os.path.join(out, "pt_loss.f32"), [output.loss.item()], np.float32)
    # Position i predicts label i + 1 over the extended sequence (virtual labels are -100).
    extended = torch.cat([torch.full((BATCH, NUM_VIRTUAL_TOKENS), -100), labels], dim=1)[:, 1:]
    log_probs = torch.log_softmax(output.logits[:, :-1].detach().float(), dim=-1)
    picked = log_probs.gather(-1, extended.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    write(os.path.join(out, "pt_row_log_likelihood.f32"), (picked * (extended != -100)).sum(dim=1), np.float32)
    output.loss.backward()
    write(os.path.join(out, "pt_grad.f32"), table.grad, np.float32)
    optimizer = torch.optim.AdamW([table], lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    optimizer.step()
    write(os.path.join(out, "pt_after_step.f32"), table.detach(), np.float32)

    init_table(folder, PromptTuningInit.RANDOM, os.path.join(out, "init_random.f32"))
    init_table(folder, PromptTuningInit.SAMPLE_VOCAB, os.path.join(out, "init_sample_vocab.f32"))
    init_table(folder, PromptTuningInit.TEXT, os.path.join(out, "init_text.f32"))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", required=True, help="folder holding one model folder per variant")
    parser.add_argument("--out", required=True)
    parser.add_argument("variants", nargs="+")
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    for variant in args.variants:
        references(os.path.join(args.models, variant), os.path.join(args.out, variant))
        print(f"reference outputs for {variant} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
