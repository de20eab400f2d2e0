// The interface every soft-prompt method implements. A method owns its trainable tensors (float32
// master copies on the model's device) and says what it contributes to a forward pass; where that
// contribution enters the model is decided in prompting/, not here.
#pragma once

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "methods/method_config.h"
#include "model/transformer.h"
#include "objectives/classification_head.h"

namespace sp::methods {

struct PromptRequest {
  int64_t batch_size = 0;
  at::Tensor task_ids;    // (B) int64 on the model's device; MPT only
  bool training = false;  // dropout in encoders is active only while training
};

struct PromptContribution {
  at::Tensor prepend_embeddings;                 // (B, n, hidden) float32, or undefined
  std::vector<model::KeyValuePrefix> kv_prefix;  // one per layer (model dtype), or empty
  // prepend_embeddings' distinct prompts, when the method knows them: row r takes
  // distinct_prompts[prompt_of_row[r]]. Undefined when every row has the same prompt (one expanded
  // tensor) or nothing is prepended. Lets the virtual tokens run once per distinct prompt.
  at::Tensor distinct_prompts;  // (K, n, hidden) float32
  at::Tensor prompt_of_row;     // (B) int64 on the model's device
  // Encoder-decoder models: prepended to the decoder's inputs (MPT with m = 2, in training and
  // evaluation only: PEFT's generation leaves it out); prepend_embeddings and kv_prefix are the
  // encoder's and the decoder self-attention's.
  at::Tensor decoder_prepend_embeddings;  // (B, n, hidden) float32, or undefined
};

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

class SoftPromptMethod {
 public:
  virtual ~SoftPromptMethod() = default;

  const MethodConfig& config() const { return config_; }
  sp_method method() const { return config_.method(); }
  int64_t num_virtual_tokens() const { return config_.num_virtual_tokens; }

  // Tasks a batch's rows choose from (each row's task id in [0, num_tasks)); 0 for methods that take
  // no task ids, which then ignore them.
  virtual int64_t num_tasks() const { return 0; }
  const objectives::TaskConfig& task() const { return config_.task; }
  // What a batch receives. Differentiable with respect to parameters().
  virtual PromptContribution contribute(const PromptRequest& request) const = 0;
  // Trainable tensors: the prompt's by PEFT's in-memory names ("embedding.weight",
  // "transform.0.weight", ...), then the classification head's by PEFT's saved names
  // ("base_model.classifier.weight", ...).
  NamedTensors parameters() const;
  // The tensors PEFT stores in adapter_model.safetensors, by PEFT's keys (encoders already applied;
  // the head's trainable copy).
  NamedTensors tensors_for_saving() const;
  // The SEQ_CLS / TOKEN_CLS head; null for the other tasks.
  const objectives::ClassificationHead* head() const { return head_ ? &*head_ : nullptr; }
  // The generator that training draws from (P-tuning's LSTM dropout; a handle sharing its state),
  // so that a trainer state can save and restore where it stands. Undefined for methods whose
  // training draws nothing.
  virtual at::Generator training_generator() const { return {}; }

 protected:
  // Starts the random stream as transformers and PEFT do after torch.manual_seed(config.seed): first
  // what from_pretrained draws for the task's model class (the head, kept when the task has one),
  // then the method's own draws from generator_.
  SoftPromptMethod(MethodConfig config, const model::Transformer& model);
  virtual NamedTensors prompt_parameters() const = 0;
  virtual NamedTensors prompt_tensors_for_saving() const = 0;

  MethodConfig config_;
  model::ModelConfig model_;
  at::Generator generator_;  // the initialisation stream, positioned after the head's draws

 private:
  std::optional<objectives::ClassificationHead> head_;
};

}  // namespace sp::methods
