#include "objectives/classification_head.h"

#include "util/errors.h"

namespace sp::objectives {

namespace {

struct LinearShape {
  std::string module;  // "classifier", "classifier.dense", "score", ...
  int64_t out, in;
  bool bias;
  bool rows_are_labels;
};

const model::Family& family_of(const model::Transformer& model) {
  const model::Family* family = model::find_family(model.config().model_type);
  if (!family) fail(ErrorKind::Internal, "no family row for " + model.config().model_type);
  return *family;
}

// The Linear layers of the head, in from_pretrained's initialisation order.
std::vector<LinearShape> head_linears(const TaskConfig& task, const model::Transformer& model) {
  const model::TaskHeads& heads = family_of(model).heads;
  const int64_t d = model.config().hidden_size, C = task.num_labels;
  if (task.type == SP_TASK_TOKEN_CLS) return {{heads.token_module, C, d, true, true}};
  if (task.type != SP_TASK_SEQ_CLS) return {};
  const std::string module = heads.sequence_module;
  switch (heads.sequence_pooling) {
    case model::SequencePooling::Pooler:
      return {{module, C, d, true, true}};
    case model::SequencePooling::FirstTokenDense:
      return {{module + ".dense", d, d, true, false}, {module + ".out_proj", C, d, true, true}};
    case model::SequencePooling::LastToken:
      return {{module, C, d, false, true}};
  }
  return {};
}

}  // namespace

std::vector<HeadTensorShape> head_layout(const TaskConfig& task, const model::Transformer& model) {
  if (!task.classifies()) return {};
  if (task.num_labels < 2)
    fail(ErrorKind::Unsupported, "num_labels " + std::to_string(task.num_labels) +
                                     ": a head needs at least 2 classes (num_labels 1, transformers' regression, is "
                                     "not supported)");
  if (task.type == SP_TASK_SEQ_CLS && family_of(model).heads.sequence_pooling == model::SequencePooling::Pooler &&
      !model.pooler().weight.defined())
    fail(ErrorKind::Unsupported, "'" + model.folder() +
                                     "' has no pooler (pooler.dense), which sequence classification on " +
                                     model.config().model_type +
                                     " reads: transformers would start it from random values that no adapter "
                                     "file records");
  std::vector<HeadTensorShape> layout;
  for (const auto& linear : head_linears(task, model)) {
    layout.push_back({"base_model." + linear.module + ".weight", {linear.out, linear.in}, linear.rows_are_labels});
    if (linear.bias) layout.push_back({"base_model." + linear.module + ".bias", {linear.out}, linear.rows_are_labels});
  }
  return layout;
}

std::string labels_tensor_name(const TaskConfig& task, const model::Transformer& model) {
  const std::vector<LinearShape> linears = head_linears(task, model);
  return linears.empty() ? std::string() : "base_model." + linears.back().module + ".weight";
}

std::vector<at::Tensor> draw_initial_head(const TaskConfig& task, const model::Transformer& model,
                                          at::Generator& generator) {
  const double std = model.config().initializer_range;
  const int64_t d = model.config().hidden_size;
  if (task.type == SP_TASK_FEATURE_EXTRACTION && family_of(model).heads.base_model_has_pooler &&
      !model.pooler().weight.defined())
    at::empty({d, d}, at::kFloat).normal_(0.0, std, generator);  // AutoModel's pooler; never used
  std::vector<at::Tensor> values;
  for (const auto& linear : head_linears(task, model)) {
    at::Tensor weight = at::empty({linear.out, linear.in}, at::kFloat);
    weight.normal_(0.0, std, generator);
    values.push_back(weight);
    if (linear.bias) values.push_back(at::zeros({linear.out}, at::kFloat));
  }
  return values;
}

ClassificationHead::ClassificationHead(const TaskConfig& task, const model::Transformer& model,
                                       at::Generator& generator)
    : pooling_(family_of(model).heads.sequence_pooling) {
  const std::vector<HeadTensorShape> layout = head_layout(task, model);
  const std::vector<at::Tensor> values = draw_initial_head(task, model, generator);
  for (std::size_t i = 0; i < layout.size(); ++i)
    parameters_.emplace_back(layout[i].name, values[i].to(model.device()).set_requires_grad(true));
}

at::Tensor ClassificationHead::weight(std::size_t index, const at::Tensor& like) const {
  return parameters_[index].second.to(like.scalar_type());
}

at::Tensor ClassificationHead::sequence_logits(const model::Transformer& model, const at::Tensor& pooled_state) const {
  switch (pooling_) {
    case model::SequencePooling::Pooler:  // BERT: classifier(tanh(pooler(h0)))
      return at::linear(at::tanh(model.pooler()(pooled_state)), weight(0, pooled_state), weight(1, pooled_state));
    case model::SequencePooling::FirstTokenDense: {  // RoBERTa: out_proj(tanh(dense(h0)))
      at::Tensor x = at::tanh(at::linear(pooled_state, weight(0, pooled_state), weight(1, pooled_state)));
      return at::linear(x, weight(2, pooled_state), weight(3, pooled_state));
    }
    case model::SequencePooling::LastToken:
      return at::linear(pooled_state, weight(0, pooled_state));
  }
  return {};
}

at::Tensor ClassificationHead::token_logits(const at::Tensor& hidden) const {
  return at::linear(hidden, weight(0, hidden), weight(1, hidden));
}

}  // namespace sp::objectives
