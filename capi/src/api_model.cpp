// Entry points: version, CUDA query, thread count, models, batches, logits sizes.
#include <cstring>

#include "batch_check.h"
#include "forward_calls.h"
#include "guard.h"
#include "handles.h"
#include "params.h"
#include "version.h"

using namespace sp;
using namespace sp::capi;

namespace {
// The ABI-level checks of sp_model_params: its enum fields hold enum values, allow_tf32 is 0 or 1.
void check_model_params(const sp_model_params& params) {
  require(params.device == SP_DEVICE_CPU || params.device == SP_DEVICE_CUDA,
          "params->device " + std::to_string(static_cast<int>(params.device)) + " is not an sp_device_kind");
  require(params.dtype == SP_DTYPE_FLOAT32 || params.dtype == SP_DTYPE_BFLOAT16 || params.dtype == SP_DTYPE_FLOAT16,
          "params->dtype " + std::to_string(static_cast<int>(params.dtype)) + " is not an sp_dtype");
  require(params.allow_tf32 == 0 || params.allow_tf32 == 1,
          "params->allow_tf32 must be 0 or 1, got " + std::to_string(params.allow_tf32));
}
}  // namespace

extern "C" {

const char* sp_version(void) noexcept { return SP_VERSION_STRING; }

int32_t sp_cuda_device_count(void) noexcept {
  try {
    return engine::cuda_device_count();
  } catch (...) {
    return 0;
  }
}

sp_status sp_set_num_threads(int32_t num_threads) noexcept {
  return guard([&] { engine::set_num_threads(num_threads); });
}

sp_status sp_get_num_threads(int32_t* out) noexcept {
  return guard([&] {
    require_not_null(out, "out");
    *out = engine::num_threads();
  });
}

sp_model_params sp_model_default_params(void) noexcept {
  sp_model_params params = sized<sp_model_params>();
  params.device = SP_DEVICE_CPU;
  params.device_index = 0;
  params.dtype = SP_DTYPE_FLOAT32;
  params.allow_tf32 = 0;
  return params;
}

sp_model_info sp_model_info_init(void) noexcept { return sized<sp_model_info>(); }

sp_batch sp_batch_init(void) noexcept { return sized<sp_batch>(); }

sp_status sp_model_create(sp_model** out, const char* model_folder, const sp_model_params* params) noexcept {
  if (out) *out = nullptr;
  return guard([&] {
    require_not_null(out, "out");
    require_not_null(model_folder, "model_folder");
    const sp_model_params settings = read_params(params, sp_model_default_params(), "sp_model_params");
    check_model_params(settings);
    publish(out, engine::Model::load(model_folder, settings), HandleKind::Model);
  });
}

void sp_model_free(sp_model* model) noexcept { free_handle(model, HandleKind::Model); }

sp_status sp_model_get_info(const sp_model* model, sp_model_info* info) noexcept {
  return guard([&] {
    const auto core = checked(model, "model");
    const engine::ModelInfo& source = core->info();
    require_not_null(info, "info");
    sp_model_info full = sized<sp_model_info>();
    full.vocab_size = source.vocab_size;
    full.hidden_size = source.hidden_size;
    full.num_layers = source.num_layers;
    full.num_attention_heads = source.num_heads;
    full.num_key_value_heads = source.num_kv_heads;
    full.head_dim = source.head_dim;
    full.max_position_embeddings = source.max_position_embeddings;
    std::strncpy(full.model_type, source.model_type.c_str(), sizeof(full.model_type) - 1);
    full.type_vocab_size = source.type_vocab_size;
    full.has_lm_head = source.has_lm_head ? 1 : 0;
    full.is_encoder_decoder = source.is_encoder_decoder ? 1 : 0;
    full.num_decoder_layers = source.num_decoder_layers;
    full.decoder_start_token_id = source.decoder_start_token_id;
    write_result(info, full, "sp_model_info");
  });
}

sp_memory_stats sp_memory_stats_init(void) noexcept { return sized<sp_memory_stats>(); }

sp_status sp_memory_get_stats(sp_device_kind device, int32_t device_index, sp_memory_stats* out) noexcept {
  return guard([&] {
    require_not_null(out, "out");
    const engine::MemoryStats stats = engine::memory_stats(device, device_index);
    sp_memory_stats full = sized<sp_memory_stats>();
    full.current_bytes = stats.current;
    full.peak_bytes = stats.peak;
    full.reserved_bytes = stats.reserved;
    write_result(out, full, "sp_memory_stats");
  });
}

sp_status sp_memory_reset_peak(sp_device_kind device, int32_t device_index) noexcept {
  return guard([&] { engine::reset_peak_memory(device, device_index); });
}

sp_status sp_logits_count(int64_t vocab_size, int32_t batch_size, int32_t seq_len, sp_logits_mode mode,
                          size_t* count) noexcept {
  return guard([&] {
    require_not_null(count, "count");
    require(vocab_size > 0, "vocab_size must be positive, got " + std::to_string(vocab_size));
    require(batch_size > 0, "batch_size must be positive, got " + std::to_string(batch_size));
    require(seq_len > 0, "seq_len must be positive, got " + std::to_string(seq_len));
    *count = engine::logits_count(batch_size, seq_len, checked_logits_mode(mode), vocab_size);
  });
}

sp_status sp_model_logits(const sp_model* model, const sp_batch* batch, sp_logits_mode mode, float* out,
                          size_t out_count) noexcept {
  return guard([&] {
    const auto core = checked(model, "model");
    write_logits(*core, checked_batch(batch, core->info()), mode, out, out_count);
  });
}

sp_status sp_model_eval_loss(const sp_model* model, const sp_batch* batch, float* mean_loss,
                             float* row_log_likelihood) noexcept {
  return guard([&] {
    const auto core = checked(model, "model");
    write_evaluation(*core, checked_batch(batch, core->info()), mean_loss, row_log_likelihood);
  });
}

sp_status sp_model_hidden_states(const sp_model* model, const sp_batch* batch, float* out, size_t out_count) noexcept {
  return guard([&] {
    const auto core = checked(model, "model");
    const engine::HostBatch host = checked_batch(batch, core->info());
    require_not_null(out, "out");
    core->hidden_states(host, out, out_count);
  });
}

}  // extern "C"
