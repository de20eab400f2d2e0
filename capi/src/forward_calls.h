// The bodies of the forward entry points, shared by models and adapters (engine::Model and
// engine::Adapter have the same logits/evaluate interface): output checks, the call, the copy out.
#pragma once

#include <cstring>

#include "batch_check.h"
#include "guard.h"

namespace sp::capi {

template <class Core>
void write_logits(const Core& core, const engine::HostBatch& batch, sp_logits_mode mode, float* out, size_t out_count) {
  const sp_logits_mode checked_mode = checked_logits_mode(mode);
  require_not_null(out, "out");
  core.logits(batch, checked_mode, out, out_count);  // BUFFER_TOO_SMALL below sp_logits_count
}

template <class Core>
void write_evaluation(const Core& core, const engine::HostBatch& batch, float* mean_loss, float* row_log_likelihood) {
  require_not_null(mean_loss, "mean_loss");
  const engine::Evaluation evaluation = core.evaluate(batch);
  *mean_loss = static_cast<float>(evaluation.mean_loss);
  if (row_log_likelihood)
    std::memcpy(row_log_likelihood, evaluation.row_log_likelihood.data(),
                evaluation.row_log_likelihood.size() * sizeof(float));
}

}  // namespace sp::capi
