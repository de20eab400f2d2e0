#!/usr/bin/env python3
"""PEFT's TEXT initialisation from prompt_tuning_init_text, for test_init_text.

Writes into --out:
  llama-with-tokenizer/   the tiny llama model (links to its config.json and weights) plus a
                          tokenizer trained here with `tokenizers` (BPE, <s> added in front by a
                          TemplateProcessing, as LLaMA's files do; every id fits the model's
                          256-entry vocabulary) and tokenizer_config.json naming bos/eos/pad;
  <case>/ids.i32          the ids PEFT initialised from: AutoTokenizer(init_text)["input_ids"];
  <case>/embedding.f32    PEFT's initial prompt table (PromptEmbedding / MultitaskPromptEmbedding
                          weight), num_virtual_tokens x hidden, float32;
  <case>/text.txt         the init text.
Cases: prompt tuning with fewer virtual tokens than text ids (cut), with more (repeated), and
multitask prompt tuning (the shared prompt starts from the text the same way).
"""
import argparse
import json
import os

import numpy as np
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, processors, decoders, trainers
from transformers import AutoModelForCausalLM, AutoTokenizer
from peft import (MultitaskPromptTuningConfig, MultitaskPromptTuningInit, PromptTuningConfig, PromptTuningInit,
                  get_peft_model)

# Training text for the little vocabulary (any English text works; these are PEFT's own examples
# of init texts plus pangrams, so the words of the init texts are in the vocabulary).
TRAINING_TEXT = [
    "Classify if the tweet is a complaint or not:",
    "Predict if sentiment of this review is positive, negative or neutral",
    "The quick brown fox jumps over the lazy dog.",
    "Pack my box with five dozen liquor jugs.",
    "How vexingly quick daft zebras jump!",
] * 20

CASES = {
    # name: (config factory, init text)
    "prompt_cut": (lambda text, folder: PromptTuningConfig(
        task_type="CAUSAL_LM", num_virtual_tokens=4, prompt_tuning_init=PromptTuningInit.TEXT,
        prompt_tuning_init_text=text, tokenizer_name_or_path=folder),
        "Classify if the tweet is a complaint or not:"),
    "prompt_repeat": (lambda text, folder: PromptTuningConfig(
        task_type="CAUSAL_LM", num_virtual_tokens=11, prompt_tuning_init=PromptTuningInit.TEXT,
        prompt_tuning_init_text=text, tokenizer_name_or_path=folder),
        "quick brown fox"),
    "mpt": (lambda text, folder: MultitaskPromptTuningConfig(
        task_type="CAUSAL_LM", num_virtual_tokens=6, num_tasks=2, num_ranks=1,
        prompt_tuning_init=MultitaskPromptTuningInit.TEXT, prompt_tuning_init_text=text,
        tokenizer_name_or_path=folder),
        "Predict if sentiment of this review is positive"),
}


def write_model_folder(models_root, out):
    folder = os.path.join(out, "llama-with-tokenizer")
    os.makedirs(folder, exist_ok=True)
    source = os.path.join(models_root, "llama")
    for name in os.listdir(source):
        link = os.path.join(folder, name)
        if not os.path.lexists(link):
            os.symlink(os.path.abspath(os.path.join(source, name)), link)
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.decoder = decoders.BPEDecoder()
    trainer = trainers.BpeTrainer(vocab_size=200, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)
    tokenizer.train_from_iterator(TRAINING_TEXT, trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tokenizer.token_to_id("<s>"))])
    assert tokenizer.get_vocab_size() <= 256, "the tokenizer must fit the tiny model's vocabulary"
    tokenizer.save(os.path.join(folder, "tokenizer.json"))
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "</s>",
                   "tokenizer_class": "PreTrainedTokenizerFast"}, f)
    return folder


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    folder = write_model_folder(args.models, args.out)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    for name, (make_config, text) in CASES.items():
        case = os.path.join(args.out, name)
        os.makedirs(case, exist_ok=True)
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32)
        peft_model = get_peft_model(model, make_config(text, folder))
        embedding = peft_model.prompt_encoder["default"].embedding.weight.detach().numpy()
        ids = tokenizer(text)["input_ids"]
        np.asarray(ids, dtype=np.int32).tofile(os.path.join(case, "ids.i32"))
        np.ascontiguousarray(embedding, dtype=np.float32).tofile(os.path.join(case, "embedding.f32"))
        with open(os.path.join(case, "text.txt"), "w") as f:
            f.write(text)
        print(f"{name}: {len(ids)} ids {ids} -> prompt {embedding.shape[0]} x {embedding.shape[1]}")


if __name__ == "__main__":
    main()
