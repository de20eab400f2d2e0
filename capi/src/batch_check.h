// Validation of an sp_batch against a model, before anything reaches the core.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "softprompt/softprompt.h"

namespace sp::capi {

// Throws InvalidArgument (NULLs, sizes, mask values), ShapeMismatch (an array whose count is not
// batch_size * seq_len) or OutOfRange (ids, labels). With row_adapters (a model's call): each live
// handle (HandleError otherwise) and each row's task id against its adapter's tasks.
engine::HostBatch checked_batch(const sp_batch* batch, const engine::ModelInfo& model);

// The adapters of `rows` rows given as handles (null entries stay null; an empty vector for a NULL
// array): ShapeMismatch when count is not rows, HandleError for a freed or foreign handle. `name`
// names the array in messages.
std::vector<std::shared_ptr<const engine::Adapter>> checked_adapters(const sp_adapter* const* handles, size_t count,
                                                                     int32_t rows, const std::string& name);

// checked_batch plus the adapter's needs: no row_adapters (InvalidArgument: those are for a model's
// calls), task ids in [0, num_tasks) for multitask prompt tuning (required there, ignored elsewhere).
engine::HostBatch checked_adapter_batch(const sp_batch* batch, const engine::Adapter& adapter);

// Throws InvalidArgument unless mode is a known sp_logits_mode.
sp_logits_mode checked_logits_mode(sp_logits_mode mode);

}  // namespace sp::capi
