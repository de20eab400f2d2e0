// Validation of an sp_batch against a model, before anything reaches the core.
#pragma once

#include "engine/engine.h"
#include "softprompt/softprompt.h"

namespace sp::capi {

// Throws InvalidArgument (NULLs, sizes, mask values), ShapeMismatch (an array whose count is not
// batch_size * seq_len) or OutOfRange (ids, labels).
engine::HostBatch checked_batch(const sp_batch* batch, const engine::ModelInfo& model);

// checked_batch plus the adapter's needs: task ids in [0, num_tasks) for multitask prompt tuning
// (required there, ignored elsewhere).
engine::HostBatch checked_adapter_batch(const sp_batch* batch, const engine::Adapter& adapter);

// Throws InvalidArgument unless mode is a known sp_logits_mode.
sp_logits_mode checked_logits_mode(sp_logits_mode mode);

}  // namespace sp::capi
