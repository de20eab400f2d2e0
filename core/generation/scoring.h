// Log-likelihoods of continuations after prompts (multiple choice, classification by label words):
// each pair placed as if alone, batched, with a prompt snapshot, without the cache.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "generation/prompts.h"
#include "model/transformer.h"
#include "prompting/prompt_snapshot.h"

namespace sp::generation {

// One value per pair: the sum of log p(continuation token | everything before it), in nats.
// `limits` bound the pairs (prompt + continuation within max_length; max_rows pairs per forward).
std::vector<float> score_continuations(const model::Transformer& model, const prompting::PromptSnapshot& snapshot,
                                       const Prompts& prompts, const Prompts& continuations,
                                       const PromptLimits& limits);

}  // namespace sp::generation
