#include "prompting/batch.h"

#include "objectives/causal_lm.h"

namespace sp::prompting {

Batch with_default_labels(const Batch& batch) {
  if (batch.labels.defined()) return batch;
  Batch copy = batch;
  copy.labels = batch.input_ids.clone();
  if (batch.attention_mask.defined()) copy.labels.masked_fill_(batch.attention_mask.eq(0), objectives::kIgnoredLabel);
  return copy;
}

}  // namespace sp::prompting
