#include "generation/scoring.h"

#include <algorithm>

#include "prompting/model_inputs.h"
#include "util/errors.h"

namespace sp::generation {

std::vector<float> score_continuations(const Session& session, const Prompts& prompts, const Prompts& continuations) {
  const model::Transformer& model = session.model();
  const PromptLimits limits = session.limits();
  if (model.config().topology == model::Topology::EncoderDecoder)
    fail(ErrorKind::Unsupported, "scoring continuations is offered for decoder-only models; with " +
                                     model.config().model_type +
                                     " use sp_adapter_eval_loss (the continuations as the decoder's labels)");
  if (continuations.rows.size() != prompts.rows.size())
    fail(ErrorKind::InvalidArgument, "there are " + std::to_string(prompts.rows.size()) + " prompts but " +
                                         std::to_string(continuations.rows.size()) + " continuations");
  // Each pair becomes one row: prompt then continuation.
  Prompts pairs;
  pairs.task_ids = prompts.task_ids;
  pairs.row_prompts = prompts.row_prompts;
  for (std::size_t row = 0; row < prompts.rows.size(); ++row) {
    std::vector<int32_t> joined = prompts.rows[row];
    joined.insert(joined.end(), continuations.rows[row].begin(), continuations.rows[row].end());
    pairs.rows.push_back(std::move(joined));
  }
  PromptLimits unbounded_rows = limits;
  unbounded_rows.max_rows = 0;  // any number of pairs; they run max_rows at a time
  check_prompts(prompts, unbounded_rows, 0, "prompts");
  check_prompts(continuations, {limits.vocab_size, 0, 0, limits.max_length}, 0, "continuations");
  check_prompts(pairs, unbounded_rows, 0, "prompts with their continuations");

  c10::InferenceMode guard;
  const at::Device device = model.device();
  std::vector<float> result;
  const std::size_t chunk = static_cast<std::size_t>(std::max<int64_t>(1, limits.max_rows));
  for (std::size_t first = 0; first < pairs.rows.size(); first += chunk) {
    const std::size_t count = std::min(chunk, pairs.rows.size() - first);
    const auto rows = static_cast<int64_t>(count);
    prompting::Batch batch = padded_batch(pairs, first, count, Padding::Left);
    const std::unique_ptr<prompting::ModelInputs> inputs = session.inputs_for(pairs, first, count, batch);
    at::Tensor hidden = inputs->output_hidden(model.forward(inputs->forward_inputs()));

    // Left padding ends every row in the last column, so the continuations (right-aligned) are
    // predicted by the `longest` columns before the last one.
    int64_t longest = 0;
    for (std::size_t row = first; row < first + count; ++row)
      longest = std::max<int64_t>(longest, static_cast<int64_t>(continuations.rows[row].size()));
    at::Tensor targets = at::zeros({rows, longest}, at::kLong), counted = at::zeros({rows, longest}, at::kBool);
    auto target_data = targets.accessor<int64_t, 2>();
    auto counted_data = counted.accessor<bool, 2>();
    for (int64_t row = 0; row < rows; ++row) {
      const auto& continuation = continuations.rows[first + static_cast<std::size_t>(row)];
      const int64_t start = longest - static_cast<int64_t>(continuation.size());
      for (std::size_t i = 0; i < continuation.size(); ++i) {
        target_data[row][start + static_cast<int64_t>(i)] = continuation[i];
        counted_data[row][start + static_cast<int64_t>(i)] = true;
      }
    }
    const int64_t T = hidden.size(1);
    at::Tensor predicting = hidden.narrow(1, T - 1 - longest, longest);
    at::Tensor log_probs = model.lm_head(predicting).to(at::kFloat).log_softmax(-1);
    at::Tensor picked = log_probs.gather(2, targets.to(device).unsqueeze(2)).squeeze(2);
    at::Tensor sums = picked.masked_fill(counted.to(device).logical_not(), 0).sum(1).to(at::kCPU);
    const float* values = sums.data_ptr<float>();
    result.insert(result.end(), values, values + rows);
  }
  return result;
}

}  // namespace sp::generation
