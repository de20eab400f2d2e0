#include "prompting/prompt_snapshot.h"

#include "util/errors.h"

namespace sp::prompting {

PromptSnapshot PromptSnapshot::take(const methods::SoftPromptMethod& method) {
  c10::InferenceMode guard;
  PromptSnapshot snapshot;
  snapshot.num_virtual_tokens_ = method.num_virtual_tokens();
  snapshot.num_tasks_ = method.num_tasks();
  methods::PromptRequest request;
  request.batch_size = std::max<int64_t>(1, snapshot.num_tasks_);
  if (snapshot.num_tasks_ > 0) {
    // Any tensor of the method tells its device; the prompt table is always there.
    const at::Device device = method.parameters().front().second.device();
    request.task_ids = at::arange(snapshot.num_tasks_, at::TensorOptions().dtype(at::kLong).device(device));
  }
  methods::PromptContribution contribution = method.contribute(request);
  // Copies: a contribution may be a view of the trainable tensors, which training changes in place.
  if (contribution.prepend_embeddings.defined()) snapshot.prepend_ = contribution.prepend_embeddings.clone();
  for (const auto& layer : contribution.kv_prefix)
    snapshot.prefix_.push_back({layer.key.narrow(0, 0, 1).clone(), layer.value.narrow(0, 0, 1).clone()});
  return snapshot;
}

methods::PromptContribution PromptSnapshot::for_rows(int64_t rows, const at::Tensor& task_ids) const {
  methods::PromptContribution contribution;
  if (prepend_.defined()) {
    if (num_tasks_ > 0) {
      if (!task_ids.defined()) fail(ErrorKind::InvalidArgument, "multitask prompt tuning needs a task id per prompt");
      contribution.prepend_embeddings = prepend_.index_select(0, task_ids);
      contribution.distinct_prompts = prepend_;
      contribution.prompt_of_row = task_ids;
    } else {
      contribution.prepend_embeddings = prepend_.expand({rows, -1, -1});
    }
  }
  for (const auto& layer : prefix_)
    contribution.kv_prefix.push_back({layer.key.expand({rows, -1, -1, -1}), layer.value.expand({rows, -1, -1, -1})});
  return contribution;
}

}  // namespace sp::prompting
