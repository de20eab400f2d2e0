#include "methods/prompt_tuning/prompt_tuning.h"

#include "methods/init.h"

namespace sp::methods {

PromptTuning::PromptTuning(const MethodConfig& config, const model::Transformer& model, bool loading)
    : SoftPromptMethod(config, model) {
  at::Generator& generator = generator_;
  table_ = trainable(initial_prompt_table(config.get<PromptTuningSettings>(), model, config.total_virtual_tokens(),
                                          generator, loading),
                     model.device());
}

PromptContribution PromptTuning::contribute(const PromptRequest& request) const {
  PromptContribution contribution;
  // Seq2seq: the encoder's n rows; the decoder's half of the table is never inserted (PEFT).
  contribution.prepend_embeddings =
      table_.narrow(0, 0, config_.num_virtual_tokens).unsqueeze(0).expand({request.batch_size, -1, -1});
  return contribution;
}

}  // namespace sp::methods
