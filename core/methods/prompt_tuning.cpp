#include "methods/prompt_tuning.h"

#include <ATen/CPUGeneratorImpl.h>

#include "util/errors.h"

namespace sp::methods {

const char* prompt_init_name(PromptInit init) {
  switch (init) {
    case PromptInit::Random: return "RANDOM";
    case PromptInit::SampleVocab: return "SAMPLE_VOCAB";
    case PromptInit::Text: return "TEXT";
  }
  return "RANDOM";
}

std::vector<int64_t> fit_init_token_ids(const std::vector<int64_t>& ids, int64_t count) {
  if (ids.empty()) fail(ErrorKind::InvalidArgument, "TEXT initialisation needs at least one token id");
  std::vector<int64_t> fitted;
  fitted.reserve(count);
  while (static_cast<int64_t>(fitted.size()) < count)
    for (std::size_t i = 0; i < ids.size() && static_cast<int64_t>(fitted.size()) < count; ++i) fitted.push_back(ids[i]);
  return fitted;
}

std::unique_ptr<PromptTuning> PromptTuning::create(const PromptTuningConfig& config, const model::Transformer& model) {
  const int64_t n = config.num_virtual_tokens, d = model.config().hidden_size, V = model.config().vocab_size;
  if (n <= 0) fail(ErrorKind::InvalidArgument, "num_virtual_tokens must be positive, got " + std::to_string(n));

  // Drawn on the CPU in PEFT's order from a private generator, so that threads and other adapters
  // cannot disturb reproducibility.
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(config.seed);
  at::Tensor table = at::empty({n, d}, at::kFloat);
  table.normal_(0.0, 1.0, generator);
  if (config.init == PromptInit::SampleVocab) {
    at::Tensor ids = at::randint(0, V, {n}, generator, at::kLong);
    table = model.embed_tokens(ids.to(model.device())).to(at::kCPU, at::kFloat);
  } else if (config.init == PromptInit::Text) {
    std::vector<int64_t> ids = fit_init_token_ids(config.init_token_ids, n);
    for (int64_t id : ids)
      if (id < 0 || id >= V)
        fail(ErrorKind::OutOfRange, "init token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                                        std::to_string(V) + ")");
    at::Tensor id_tensor = at::tensor(ids, at::kLong).to(model.device());
    table = model.embed_tokens(id_tensor).to(at::kCPU, at::kFloat);
  }
  return from_table(config, table, model);
}

std::unique_ptr<PromptTuning> PromptTuning::from_table(const PromptTuningConfig& config, const at::Tensor& table,
                                                       const model::Transformer& model) {
  const int64_t d = model.config().hidden_size;
  if (table.dim() != 2 || table.size(0) != config.num_virtual_tokens || table.size(1) != d)
    fail(ErrorKind::ShapeMismatch, "prompt table has shape [" + std::to_string(table.size(0)) + ", " +
                                       std::to_string(table.dim() > 1 ? table.size(1) : 0) + "] but the model needs [" +
                                       std::to_string(config.num_virtual_tokens) + ", " + std::to_string(d) + "]");
  std::unique_ptr<PromptTuning> method(new PromptTuning());
  method->config_ = config;
  method->table_ = table.detach().to(model.device(), at::kFloat).clone().set_requires_grad(true);
  return method;
}

PromptContribution PromptTuning::contribute(int64_t batch_size) const {
  PromptContribution contribution;
  contribution.prepend_embeddings = table_.unsqueeze(0).expand({batch_size, -1, -1});
  return contribution;
}

NamedTensors PromptTuning::parameters() const { return {{"prompt_embeddings", table_}}; }

NamedTensors PromptTuning::tensors_for_saving() const { return {{"prompt_embeddings", table_.detach()}}; }

void PromptTuning::write_peft_config(nlohmann::json& config) const {
  config["prompt_tuning_init"] = prompt_init_name(config_.init);
  config["prompt_tuning_init_text"] = nullptr;
  config["tokenizer_name_or_path"] = nullptr;
  config["tokenizer_kwargs"] = nullptr;
  if (config_.init == PromptInit::Text) {
    // PEFT refuses a TEXT config without text and tokenizer even though loading never uses them.
    config["prompt_tuning_init_text"] = config_.init_text;
    // Without a tokenizer name, the base model's folder is the honest answer: it holds the tokenizer.
    config["tokenizer_name_or_path"] =
        config_.tokenizer_name_or_path.empty() ? config["base_model_name_or_path"] : nlohmann::json(config_.tokenizer_name_or_path);
  }
}

}  // namespace sp::methods
