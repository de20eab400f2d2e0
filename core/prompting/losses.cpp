#include "prompting/losses.h"

namespace sp::prompting {

objectives::TargetLosses input_losses(const model::Transformer& model, const ModelInputs& inputs,
                                      const at::Tensor& forward_hidden) {
  const at::Tensor hidden = inputs.output_hidden(forward_hidden);
  if (inputs.packed())
    return objectives::packed_target_losses(model, hidden, inputs.packed_targets(), inputs.packed_rows());
  return objectives::target_losses(model, hidden, inputs.labels());
}

}  // namespace sp::prompting
