#include "methods/prompt_tuning/prompt_tuning.h"

#include "methods/init.h"

namespace sp::methods {

PromptTuning::PromptTuning(const MethodConfig& config, const model::Transformer& model, bool loading)
    : SoftPromptMethod(config, model) {
  at::Generator& generator = generator_;
  table_ = trainable(
      initial_prompt_table(config.get<PromptTuningSettings>(), model, config.num_virtual_tokens, generator, loading),
      model.device());
}

PromptContribution PromptTuning::contribute(const PromptRequest& request) const {
  PromptContribution contribution;
  contribution.prepend_embeddings = table_.unsqueeze(0).expand({request.batch_size, -1, -1});
  return contribution;
}

}  // namespace sp::methods
