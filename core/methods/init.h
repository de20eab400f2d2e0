// PyTorch's default initialisers, drawn on the CPU from a private generator in PyTorch's order, so
// that a method created with seed s holds exactly the values PEFT creates after torch.manual_seed(s).
#pragma once

#include <ATen/ATen.h>

#include "methods/prompt_tuning/settings.h"
#include "model/transformer.h"

namespace sp::methods {

at::Generator make_generator(uint64_t seed);

// torch.nn.Embedding: N(0, 1).
at::Tensor normal_table(int64_t rows, int64_t columns, at::Generator& generator);

// torch.nn.Linear(in, out): weight by kaiming_uniform_(a = sqrt(5)), then bias U(-1/sqrt(in), 1/sqrt(in)).
struct Linear {
  at::Tensor weight;  // (out, in)
  at::Tensor bias;    // (out)
};
Linear make_linear(int64_t in, int64_t out, at::Generator& generator);

// The prompt table of prompt tuning and MPT: RANDOM, SAMPLE_VOCAB (after the N(0,1) draw, `rows`
// ids drawn uniformly from the vocabulary) or TEXT (token ids cut or repeated to `rows`).
// `loading`: only the N(0,1) draw (like PEFT in inference mode); the values are about to be replaced.
at::Tensor initial_prompt_table(const PromptTuningSettings& settings, const model::Transformer& model, int64_t rows,
                                at::Generator& generator, bool loading);

// A trainable float32 copy on `device`.
at::Tensor trainable(const at::Tensor& values, at::Device device);

// TEXT init ids: the list cut to `count`, or repeated whole until it fills `count` (PEFT's rule).
std::vector<int64_t> fit_init_token_ids(const std::vector<int64_t>& ids, int64_t count);

}  // namespace sp::methods
