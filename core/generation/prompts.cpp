#include "generation/prompts.h"

#include <algorithm>

#include "util/errors.h"

namespace sp::generation {

void check_prompts(const Prompts& prompts, const PromptLimits& limits, int64_t extra, const std::string& what) {
  const auto rows = static_cast<int64_t>(prompts.rows.size());
  if (rows == 0) fail(ErrorKind::InvalidArgument, what + ": none given");
  if (limits.max_rows > 0 && rows > limits.max_rows)
    fail(ErrorKind::OutOfRange, what + ": " + std::to_string(rows) + " rows, but the context holds at most " +
                                    std::to_string(limits.max_rows) + " (max_batch_size)");
  for (int64_t row = 0; row < rows; ++row) {
    const auto& ids = prompts.rows[row];
    const std::string name = what + "[" + std::to_string(row) + "]";
    if (ids.empty()) fail(ErrorKind::InvalidArgument, name + " is empty; every prompt needs at least one token");
    if (static_cast<int64_t>(ids.size()) + extra > limits.max_length)
      fail(ErrorKind::OutOfRange, name + " has " + std::to_string(ids.size()) + " tokens" +
                                      (extra > 0 ? " and " + std::to_string(extra) + " more are to come" : "") +
                                      ", beyond the context's max_length of " + std::to_string(limits.max_length));
    check_ids(ids.data(), ids.size(), limits.vocab_size, name);
  }
  if (!prompts.row_prompts.empty() && prompts.row_prompts.size() != prompts.rows.size())
    fail(ErrorKind::ShapeMismatch, what + ": " + std::to_string(prompts.row_prompts.size()) + " adapters for " +
                                       std::to_string(rows) + " prompts");
  for (int64_t row = 0; row < rows; ++row) {
    const auto index = static_cast<std::size_t>(row);
    const prompting::CompiledPrompt* prompt = prompts.row_prompts.empty() ? nullptr : prompts.row_prompts[index].get();
    const int64_t tasks = prompts.row_prompts.empty() ? limits.num_tasks : prompt ? prompt->num_tasks() : 0;
    if (tasks == 0) continue;  // task ids are ignored by methods without tasks
    if (prompts.task_ids.empty())
      fail(ErrorKind::InvalidArgument, what + ": multitask prompt tuning needs a task id per prompt" +
                                           (prompt ? " (row " + std::to_string(row) + "'s adapter)" : ""));
    if (prompts.task_ids[index] < 0 || prompts.task_ids[index] >= tasks)
      fail(ErrorKind::OutOfRange, what + ": task id " + std::to_string(prompts.task_ids[index]) + " of row " +
                                      std::to_string(row) + " is outside [0, " + std::to_string(tasks) + ")");
  }
}

void check_ids(const int32_t* ids, std::size_t count, int64_t vocab_size, const std::string& name) {
  for (std::size_t i = 0; i < count; ++i)
    if (ids[i] < 0 || ids[i] >= vocab_size)
      fail(ErrorKind::OutOfRange, name + "[" + std::to_string(i) + "] = " + std::to_string(ids[i]) +
                                      " is outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
}

prompting::Batch padded_batch(const Prompts& prompts, std::size_t first, std::size_t count, Padding side) {
  std::size_t longest = 0;
  for (std::size_t row = first; row < first + count; ++row) longest = std::max(longest, prompts.rows[row].size());
  const auto rows = static_cast<int64_t>(count), columns = static_cast<int64_t>(longest);
  at::Tensor ids = at::zeros({rows, columns}, at::kLong), mask = at::zeros({rows, columns}, at::kLong);
  auto ids_data = ids.accessor<int64_t, 2>();
  auto mask_data = mask.accessor<int64_t, 2>();
  bool padded = false;
  for (int64_t row = 0; row < rows; ++row) {
    const auto& source = prompts.rows[first + static_cast<std::size_t>(row)];
    const int64_t padding = columns - static_cast<int64_t>(source.size());
    const int64_t start = side == Padding::Left ? padding : 0;
    padded = padded || padding > 0;
    for (std::size_t i = 0; i < source.size(); ++i) {
      ids_data[row][start + static_cast<int64_t>(i)] = source[i];
      mask_data[row][start + static_cast<int64_t>(i)] = 1;
    }
  }
  prompting::Batch batch;
  batch.input_ids = ids;
  if (padded) batch.attention_mask = mask;  // none when nothing is padded: the fused causal path
  if (!prompts.task_ids.empty())
    batch.task_ids =
        at::tensor(std::vector<int64_t>(prompts.task_ids.begin() + static_cast<std::ptrdiff_t>(first),
                                        prompts.task_ids.begin() + static_cast<std::ptrdiff_t>(first + count)),
                   at::kLong);
  return batch;
}

}  // namespace sp::generation
