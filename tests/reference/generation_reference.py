"""Reference outputs of transformers/PEFT for generation, logits processors and scoring (test tool only).

Read by tests/c/test_generation_conformance.c. Every file is raw little-endian (int32 .i32, float32 .f32).

OUT/processors/  transformers' logits processors, built as generate builds them
                 (GenerationMixin._get_logits_processor with a GenerationConfig):
  logits.f32            PROCESSOR_ROWS x PROCESSOR_VOCAB random logits (exact ties, large and negative values)
  history.i32           every row's history ids, one row after another; history_lengths.i32 their lengths
  <case>.f32            the processed scores of each case of PROCESSOR_CASES (removed tokens are -inf)

OUT/<model>/     for each model of MODELS (<models>/<model>, float32, sdpa, eval mode):
  prompts.i32, prompt_lengths.i32, task_ids.i32   the generation batch (GENERATION_ROWS prompts of
                        PROMPT_LENGTHS random ids in [3, vocab)); task_ids for multitask prompt tuning
  score_prompts.i32, score_prompt_lengths.i32, score_continuations.i32, score_continuation_lengths.i32,
  score_task_ids.i32    the scoring pairs (SCORE_PROMPT_LENGTHS, SCORE_CONTINUATION_LENGTHS)
OUT/<model>/<method>/  for each method of METHODS ("base" is the model without adapter):
  peft/                 the PEFT adapter (save_pretrained of get_peft_model after torch.manual_seed(SEED));
                        every reference below comes from PeftModel.from_pretrained(peft/), as a user loads it
                        (with pass_cache_under_its_old_name: PEFT 0.21.2's generate on transformers 5.24)
  <mode>_<kind>.i32     greedy generate(do_sample=False), GENERATION_ROWS x MAX_NEW_TOKENS ids, -1 after a
                        row's end; mode "noeos" (no end-of-sequence id at all) or "eos" (eos_token_id = the id
                        in eos_id.i32); kind "alone" (each prompt as a batch of one) or "batched" (the
                        left-padded batch, pad id 0)
  <mode>_<kind>_margin.f32  per row and step, the raw logit of the chosen token minus the runner-up's
  <mode>_<kind>_scale.f32   per row and step, the largest |raw logit| (the M of the tolerance rule)
  eos_id.i32            the id the "eos" mode stops at: one that the "noeos" alone row 0 emits first at a step
                        in 8..12
  score.f32             (models of SCORE_MODELS) each scoring pair's log-likelihood, PEFT's forward on
                        prompt + continuation alone: sum of log_softmax at the continuation's tokens
"""
import argparse
import os
import sys

import numpy as np
import torch
from peft import (MultitaskPromptTuningConfig, PeftModel, PrefixTuningConfig, PromptEncoderConfig, PromptTuningConfig,
                  TaskType, get_peft_model)
from transformers import AutoModelForCausalLM, GenerationConfig

from peft_generate_cache import pass_cache_under_its_old_name

# Shared with tests/c/test_generation_conformance.c.
SEED = 23
NUM_VIRTUAL_TOKENS = 4
MODELS = ["llama", "qwen2", "gpt2"]
SCORE_MODELS = ["llama", "gpt2"]
METHODS = ["base", "prompt", "prefix", "ptuning_mlp", "ptuning_lstm", "mpt"]
GENERATION_ROWS = 3
PROMPT_LENGTHS = [11, 6, 2]
TASK_IDS = [1, 0, 1]
MAX_NEW_TOKENS = 32
PAD_ID = 0
FIRST_PROMPT_ID = 3  # prompts avoid 0..2 (pad, bos, the models' eos)
SCORE_PROMPT_LENGTHS = [7, 3, 12, 1, 5]
SCORE_CONTINUATION_LENGTHS = [4, 1, 6, 3, 2]
SCORE_TASK_IDS = [0, 1, 1, 0, 1]
PROCESSOR_ROWS = 4
PROCESSOR_VOCAB = 300
PROCESSOR_HISTORY_LENGTHS = [0, 5, 12, 30]
# name: GenerationConfig settings (do_sample, temperature, top_k, top_p, min_p, repetition_penalty); the C table
# repeats them. top_k is always given (transformers' default is 50).
PROCESSOR_CASES = {
    "temperature": dict(do_sample=True, temperature=0.7, top_k=0),
    "top_k": dict(do_sample=True, top_k=10),
    "top_p": dict(do_sample=True, top_p=0.8, top_k=0),
    "min_p": dict(do_sample=True, min_p=0.15, top_k=0),
    "repetition_penalty": dict(do_sample=True, repetition_penalty=1.3, top_k=0),
    "repetition_reward": dict(do_sample=True, repetition_penalty=0.8, top_k=0),
    "combined": dict(do_sample=True, temperature=0.7, top_k=10, top_p=0.8, min_p=0.15, repetition_penalty=1.3),
    "greedy": dict(do_sample=False, temperature=0.7, top_k=10, top_p=0.8, min_p=0.15, repetition_penalty=1.3),
}


def peft_config(method):
    common = dict(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=NUM_VIRTUAL_TOKENS)
    return {
        "prompt": lambda: PromptTuningConfig(**common),
        "prefix": lambda: PrefixTuningConfig(**common),
        "ptuning_mlp": lambda: PromptEncoderConfig(**common, encoder_hidden_size=32),
        "ptuning_lstm": lambda: PromptEncoderConfig(**common, encoder_reparameterization_type="LSTM",
                                                    encoder_hidden_size=16, encoder_num_layers=2, encoder_dropout=0.0),
        "mpt": lambda: MultitaskPromptTuningConfig(**common, num_tasks=2, num_ranks=1),
    }[method]()


def write(path, array, dtype):
    np.ascontiguousarray(np.asarray(array, dtype=dtype)).tofile(path)


def load_base(folder):
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="sdpa").eval()
    # No end-of-sequence id unless a call passes one: the "noeos" mode must run all MAX_NEW_TOKENS steps.
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = PAD_ID
    return model


def random_ids(generator, lengths, vocab):
    return [torch.randint(FIRST_PROMPT_ID, vocab, (n,), generator=generator).tolist() for n in lengths]


def greedy(model, prompts, task_ids, eos_id):
    """generate(do_sample=False) on the prompts left-padded into one batch; per row its new ids (cut after
    eos_id), and per step the chosen-minus-runner-up margin and max |logit| of the raw logits."""
    width = max(len(p) for p in prompts)
    ids = torch.tensor([[PAD_ID] * (width - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
    extra = {} if task_ids is None else {"task_ids": torch.tensor(task_ids)}
    config = GenerationConfig(do_sample=False, max_new_tokens=MAX_NEW_TOKENS, eos_token_id=eos_id, pad_token_id=PAD_ID)
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=mask, generation_config=config, output_logits=True,
                             return_dict_in_generate=True, **extra)
    new = out.sequences[:, width:]
    logits = torch.stack(out.logits, dim=1)  # (rows, steps, vocab)
    if eos_id is None and new.shape[1] != MAX_NEW_TOKENS:
        raise RuntimeError(f"generate stopped after {new.shape[1]} tokens without an end-of-sequence id")
    tokens = np.full((len(prompts), MAX_NEW_TOKENS), -1, dtype=np.int32)
    margins = np.zeros((len(prompts), MAX_NEW_TOKENS), dtype=np.float32)
    scales = np.zeros((len(prompts), MAX_NEW_TOKENS), dtype=np.float32)
    for row in range(len(prompts)):
        for step in range(new.shape[1]):
            token = int(new[row, step])
            top = torch.topk(logits[row, step], 2).values
            if token != int(torch.argmax(logits[row, step])):
                raise RuntimeError("greedy generate chose a token that is not the argmax of its raw logits")
            tokens[row, step] = token
            margins[row, step] = float(top[0] - top[1])
            scales[row, step] = float(logits[row, step].abs().max())
            if token == eos_id:
                break
    return tokens, margins, scales


def greedy_by_forward(model, prompt, task_id, eos_id):
    """Greedy decoding of one prompt by PEFT's forward on the whole sequence at each step (no cache): the virtual
    tokens or the prefix first, then the tokens at the positions that follow, as PEFT's forward places them."""
    extra = {} if task_id is None else {"task_ids": torch.tensor([task_id])}
    sequence = list(prompt)
    tokens = np.full((1, MAX_NEW_TOKENS), -1, dtype=np.int32)
    margins = np.zeros((1, MAX_NEW_TOKENS), dtype=np.float32)
    scales = np.zeros((1, MAX_NEW_TOKENS), dtype=np.float32)
    for step in range(MAX_NEW_TOKENS):
        ids = torch.tensor([sequence])
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), **extra).logits[0, -1]
        top = torch.topk(logits, 2)
        token = int(torch.argmax(logits))
        tokens[0, step], margins[0, step] = token, float(top.values[0] - top.values[1])
        scales[0, step] = float(logits.abs().max())
        sequence.append(token)
        if token == eos_id:
            break
    return tokens, margins, scales


def generate_references(model, out, prompts, task_ids, eos_id, mode):
    rows = []
    for r, prompt in enumerate(prompts):  # each prompt alone: the contract softprompt keeps for every row
        rows.append(greedy(model, [prompt], None if task_ids is None else [task_ids[r]], eos_id))
    alone = tuple(np.concatenate([row[i] for row in rows]) for i in range(3))
    batched = greedy(model, prompts, task_ids, eos_id)
    for kind, (tokens, margins, scales) in (("alone", alone), ("batched", batched)):
        write(os.path.join(out, f"{mode}_{kind}.i32"), tokens, np.int32)
        write(os.path.join(out, f"{mode}_{kind}_margin.f32"), margins, np.float32)
        write(os.path.join(out, f"{mode}_{kind}_scale.f32"), scales, np.float32)
    return alone[0], batched[0]


def choose_eos(rows):
    """An id row 0 emits for the first time at a step in 8..12 (else at the nearest such step; else the same
    in row 1, row 2; else row 0's first id: a random tiny model can repeat one id from the first step)."""
    for row in rows:
        for step in list(range(8, 13)) + list(range(13, MAX_NEW_TOKENS)) + list(range(7, 0, -1)):
            if int(row[step]) not in [int(t) for t in row[:step]]:
                return int(row[step])
    return int(rows[0][0])


def score(model, prompts, continuations, task_ids):
    result = []
    for r, (prompt, continuation) in enumerate(zip(prompts, continuations)):
        ids = torch.tensor([prompt + continuation])
        extra = {} if task_ids is None else {"task_ids": torch.tensor([task_ids[r]])}
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), **extra).logits[0]
        logits = logits[logits.shape[0] - ids.shape[1]:]  # prompt methods: drop the virtual positions
        log_probs = torch.log_softmax(logits, dim=-1)
        total = 0.0
        for j, token in enumerate(continuation):
            total += float(log_probs[len(prompt) - 1 + j, token])
        result.append(total)
    return result


def run_model(models, out_root, name, generator):
    folder = os.path.join(models, name)
    out = os.path.join(out_root, name)
    os.makedirs(out, exist_ok=True)
    vocab = load_base(folder).config.vocab_size
    prompts = random_ids(generator, PROMPT_LENGTHS, vocab)
    score_prompts = random_ids(generator, SCORE_PROMPT_LENGTHS, vocab)
    score_continuations = random_ids(generator, SCORE_CONTINUATION_LENGTHS, vocab)
    write(os.path.join(out, "prompts.i32"), sum(prompts, []), np.int32)
    write(os.path.join(out, "prompt_lengths.i32"), PROMPT_LENGTHS, np.int32)
    write(os.path.join(out, "task_ids.i32"), TASK_IDS, np.int32)
    write(os.path.join(out, "score_prompts.i32"), sum(score_prompts, []), np.int32)
    write(os.path.join(out, "score_prompt_lengths.i32"), SCORE_PROMPT_LENGTHS, np.int32)
    write(os.path.join(out, "score_continuations.i32"), sum(score_continuations, []), np.int32)
    write(os.path.join(out, "score_continuation_lengths.i32"), SCORE_CONTINUATION_LENGTHS, np.int32)
    write(os.path.join(out, "score_task_ids.i32"), SCORE_TASK_IDS, np.int32)

    for method in METHODS:
        method_out = os.path.join(out, method)
        os.makedirs(method_out, exist_ok=True)
        if method == "base":
            model = load_base(folder)
        else:
            torch.manual_seed(SEED)
            get_peft_model(load_base(folder), peft_config(method)).save_pretrained(os.path.join(method_out, "peft"))
            model = PeftModel.from_pretrained(load_base(folder), os.path.join(method_out, "peft")).eval()
            pass_cache_under_its_old_name(model)
        task_ids = TASK_IDS if method == "mpt" else None
        alone, batched = generate_references(model, method_out, prompts, task_ids, None, "noeos")
        # A check of the reference itself (and of pass_cache_under_its_old_name): greedy decoding by PEFT's forward
        # gives row 0 too (printed, not raised: a near tie may part them).
        check = greedy_by_forward(model, prompts[0], None if task_ids is None else task_ids[0], None)[0][0]
        if not np.array_equal(check, alone[0]):
            print(f"  {name}/{method}: note: greedy by forward differs from generate on row 0 (near tie?)")
        differing = sum(int(not np.array_equal(alone[r], batched[r])) for r in range(GENERATION_ROWS))
        eos_id = choose_eos(alone)
        write(os.path.join(method_out, "eos_id.i32"), [eos_id], np.int32)
        generate_references(model, method_out, prompts, task_ids, eos_id, "eos")
        line = f"  {name}/{method}: PEFT's batched rows differing from its alone rows: {differing}, eos id {eos_id}"
        if name in SCORE_MODELS:
            scores = score(model, score_prompts, score_continuations, SCORE_TASK_IDS if method == "mpt" else None)
            write(os.path.join(method_out, "score.f32"), scores, np.float32)
        print(line)


def processor_data(generator):
    logits = torch.randn(PROCESSOR_ROWS, PROCESSOR_VOCAB, generator=generator) * 3.0
    for row in range(PROCESSOR_ROWS):
        order = torch.argsort(logits[row], descending=True)
        logits[row, order[10:13]] = float(logits[row, order[9]])  # exact ties with the 10th largest (top_k 10 keeps them)
        logits[row, order[40:44]] = float(logits[row, order[39]])  # ties further down
        logits[row, order[100]] = -1e4  # large negative
    logits[0, 7] = 25.0  # a dominant token
    logits[2, 5] = -30.0
    logits[3, :50] = torch.round(logits[3, :50])  # many exact ties
    histories = [torch.randint(0, PROCESSOR_VOCAB, (n,), generator=generator).tolist() for n in PROCESSOR_HISTORY_LENGTHS]
    histories[2][3] = histories[2][0]  # repeated ids count once
    histories[3][:4] = [7, 7, 5, int(torch.argmax(logits[3]))]  # penalise the dominant and very negative tokens
    histories[1][:2] = [int(torch.argmax(logits[1])), 5]
    return logits, histories


def apply_processors(model, settings, logits, histories):
    processors = model._get_logits_processor(generation_config=GenerationConfig(**settings), device="cpu",
                                             input_ids_seq_length=1, model_kwargs={})
    rows = []
    for row, history in enumerate(histories):
        ids = torch.tensor([history], dtype=torch.long).view(1, -1)
        rows.append(processors(ids, logits[row:row + 1].clone())[0])
    return torch.stack(rows)


def run_processors(models, out_root, generator):
    out = os.path.join(out_root, "processors")
    os.makedirs(out, exist_ok=True)
    model = load_base(os.path.join(models, "llama"))
    logits, histories = processor_data(generator)
    write(os.path.join(out, "logits.f32"), logits, np.float32)
    write(os.path.join(out, "history.i32"), sum(histories, []), np.int32)
    write(os.path.join(out, "history_lengths.i32"), [len(h) for h in histories], np.int32)
    permutation = torch.randperm(PROCESSOR_VOCAB, generator=generator)
    inverse = torch.argsort(permutation)
    for name, settings in PROCESSOR_CASES.items():
        processed = apply_processors(model, settings, logits, histories)
        # The case must not depend on how ties are ordered nor on round-off near a cut: the same removals with the
        # vocabulary permuted and in float64.
        permuted_histories = [[int(inverse[i]) for i in h] for h in histories]
        permuted = apply_processors(model, settings, logits[:, permutation], permuted_histories)[:, inverse]
        wide = apply_processors(model, settings, logits.double(), histories)
        for other, what in ((permuted, "permuted"), (wide, "float64")):
            if not torch.equal(torch.isinf(processed), torch.isinf(other)):
                raise RuntimeError(f"processor case {name}: removals differ {what}: the data sit on a cut")
        write(os.path.join(out, f"{name}.f32"), processed, np.float32)
        kept = torch.isfinite(processed).sum(dim=1).tolist()
        print(f"  processors/{name}: kept per row {kept}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # tiny models: threads only add overhead (and the test machine's cores are shared)
    generator = torch.Generator().manual_seed(SEED)
    run_processors(args.models, args.out, generator)
    for name in MODELS:
        run_model(args.models, args.out, name, generator)
    print(f"generation references written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
