// Log-likelihoods of continuations after prompts (multiple choice, classification by label words):
// each pair placed as if alone, batched, with the session's soft prompt or each row's own, without
// the cache.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "generation/prompts.h"
#include "generation/session.h"
#include "model/transformer.h"

namespace sp::generation {

// One value per pair: the sum of log p(continuation token | everything before it), in nats.
// The session's limits bound the pairs (prompt + continuation within max_length; max_rows pairs per
// forward); the prompts' row_prompts, when given, replace the session's prompt per row.
std::vector<float> score_continuations(const Session& session, const Prompts& prompts, const Prompts& continuations);

}  // namespace sp::generation
