// The classification head of a SEQ_CLS or TOKEN_CLS adapter: the module transformers' task class puts
// on the family's model (model/families.h TaskHeads), trained with the prompt and saved as PEFT saves
// modules_to_save (its trainable copy under "base_model.<module>.<parameter>").
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

#include "model/families.h"
#include "model/transformer.h"
#include "objectives/task.h"

namespace sp::objectives {

// One head tensor before it exists: PEFT's saved name, shape, and whether its first dimension is
// num_labels (else hidden_size), for messages naming the setting a file got wrong.
struct HeadTensorShape {
  std::string name;
  std::vector<int64_t> shape;
  bool rows_are_labels;
};

// The head tensors of `task` on `model`, in the order from_pretrained initialises them; empty for the
// tasks without a head. Throws Unsupported for what transformers would fill with random frozen
// weights (a BERT checkpoint without the pooler its sequence head reads) or that has no head here
// (num_labels 1: transformers' regression).
std::vector<HeadTensorShape> head_layout(const TaskConfig& task, const model::Transformer& model);

// The head tensor whose rows are the classes (the last layer's weight, e.g.
// "base_model.classifier.out_proj.weight"): PEFT's files record num_labels only as its first
// dimension. "" for tasks without a head.
std::string labels_tensor_name(const TaskConfig& task, const model::Transformer& model);

// What transformers' from_pretrained draws from the global generator for the task's model class
// after torch.manual_seed: each missing Linear weight N(0, initializer_range) in module order (biases
// are zeros and draw nothing), including a pooler the base-model class builds when the checkpoint has
// none. PEFT's prompt initialisation continues from there, so a method draws after these. Returns the
// head's weights (empty for tasks without a head; a discarded pooler draw is not returned).
std::vector<at::Tensor> draw_initial_head(const TaskConfig& task, const model::Transformer& model,
                                          at::Generator& generator);

class ClassificationHead {
 public:
  // A head of trainable float32 tensors on the model's device, initialised from `generator` as
  // draw_initial_head says. task.classifies() must hold.
  ClassificationHead(const TaskConfig& task, const model::Transformer& model, at::Generator& generator);

  // Trainable tensors by PEFT's saved names ("base_model.classifier.weight", ...).
  const std::vector<std::pair<std::string, at::Tensor>>& parameters() const { return parameters_; }
  // Where SEQ_CLS reads each row: position 0 (encoders) or each row's last real token (decoders).
  model::SequencePooling pooling() const { return pooling_; }
  // SEQ_CLS: (B, num_labels) logits from the final hidden state at each row's pooled position, (B, d)
  // in the model dtype; `model` gives BERT's frozen pooler.
  at::Tensor sequence_logits(const model::Transformer& model, const at::Tensor& pooled_state) const;
  // TOKEN_CLS: (..., num_labels) logits from hidden states (..., d).
  at::Tensor token_logits(const at::Tensor& hidden) const;

 private:
  at::Tensor weight(std::size_t index, const at::Tensor& like) const;
  model::SequencePooling pooling_;
  std::vector<std::pair<std::string, at::Tensor>> parameters_;  // weight, bias per Linear, in order
};

}  // namespace sp::objectives
