// The names of 0.3 and earlier, kept for one minor version (removed in 0.5): each forwards to the
// function that replaced it, so binaries built against an older header keep working.
#include "softprompt/softprompt.h"

extern "C" {

sp_status sp_load_adapter(sp_adapter** out, sp_model* model, const char* folder) noexcept {
  return sp_adapter_load(out, model, folder);
}

sp_status sp_load_adapter_file(sp_adapter** out, sp_model* model, const char* path) noexcept {
  return sp_adapter_load_file(out, model, path);
}

sp_status sp_save_adapter(const sp_adapter* adapter, const char* folder) noexcept {
  return sp_adapter_save(adapter, folder);
}

sp_status sp_save_adapter_file(const sp_adapter* adapter, const char* path) noexcept {
  return sp_adapter_save_file(adapter, path);
}

sp_status sp_logits(const sp_adapter* adapter, const sp_batch* batch, sp_logits_mode mode, float* out,
                    size_t out_count) noexcept {
  return sp_adapter_logits(adapter, batch, mode, out, out_count);
}

sp_status sp_eval_loss(const sp_adapter* adapter, const sp_batch* batch, float* mean_loss,
                       float* row_log_likelihood) noexcept {
  return sp_adapter_eval_loss(adapter, batch, mean_loss, row_log_likelihood);
}

sp_status sp_train_step(sp_trainer* trainer, const sp_batch* batch, sp_train_result* result) noexcept {
  return sp_trainer_step(trainer, batch, result);
}

}  // extern "C"
