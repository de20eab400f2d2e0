// Prompts of different lengths as the generation and scoring code receives them, their checks, and
// the left-padded batch they become.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include <memory>

#include "prompting/batch.h"
#include "prompting/compiled_prompt.h"

namespace sp::generation {

struct Prompts {
  std::vector<std::vector<int32_t>> rows;  // each non-empty
  std::vector<int64_t> task_ids;           // one per row, or empty
  // Each row's own soft prompt (null: the base model), replacing the context's; empty: the
  // context's for every row.
  std::vector<std::shared_ptr<const prompting::CompiledPrompt>> row_prompts;
};

// What a context allows: ids below vocab_size, task ids below num_tasks (required when > 0; with
// row_prompts, each row's prompt's own count applies instead), at most
// max_rows rows, each row's length plus `extra` (tokens still to come) at most max_length.
// `what` names the prompts in messages ("prompts", "continuations").
struct PromptLimits {
  int64_t vocab_size = 0, num_tasks = 0, max_rows = 0, max_length = 0;
};
void check_prompts(const Prompts& prompts, const PromptLimits& limits, int64_t extra, const std::string& what);

// OutOfRange naming `name`[i] for the first id outside [0, vocab_size).
void check_ids(const int32_t* ids, std::size_t count, int64_t vocab_size, const std::string& name);

// Rows [first, first + count) in a (count, longest) batch, padded (id 0, mask 0) on the left, so that
// every row's last token is in the last column (decoders), or on the right, so that every row starts
// in column 0 (an encoder's input: a relative position bias then sees each row as if it were alone,
// prompt methods' virtual tokens included); task ids when given.
enum class Padding { Left, Right };
prompting::Batch padded_batch(const Prompts& prompts, std::size_t first, std::size_t count, Padding side);

}  // namespace sp::generation
