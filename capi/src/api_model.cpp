// Entry points: version, CUDA query, models.
#include <cstring>

#include "batch_check.h"
#include "guard.h"
#include "handles.h"
#include "params.h"
#include "version.h"

using namespace sp;
using namespace sp::capi;

namespace {
engine::ModelOptions model_options(const sp_model_params& params) {
  require(params.device == SP_DEVICE_CPU || params.device == SP_DEVICE_CUDA,
          "params->device " + std::to_string(static_cast<int>(params.device)) + " is not an sp_device_kind");
  require(params.dtype == SP_DTYPE_FLOAT32 || params.dtype == SP_DTYPE_BFLOAT16 || params.dtype == SP_DTYPE_FLOAT16,
          "params->dtype " + std::to_string(static_cast<int>(params.dtype)) + " is not an sp_dtype");
  engine::ModelOptions options;
  options.device = params.device == SP_DEVICE_CUDA ? engine::Device::Cuda : engine::Device::Cpu;
  options.device_index = params.device_index;
  options.dtype = params.dtype == SP_DTYPE_BFLOAT16 ? engine::DType::BFloat16
                  : params.dtype == SP_DTYPE_FLOAT16 ? engine::DType::Float16
                                                     : engine::DType::Float32;
  require(params.allow_tf32 == 0 || params.allow_tf32 == 1,
          "params->allow_tf32 must be 0 or 1, got " + std::to_string(params.allow_tf32));
  options.allow_tf32 = params.allow_tf32 == 1;
  return options;
}

void fill_eval(const engine::EvalResult& result, float* mean_loss, float* row_log_likelihood) {
  *mean_loss = static_cast<float>(result.mean_loss);
  if (row_log_likelihood)
    std::memcpy(row_log_likelihood, result.row_log_likelihood.data(), result.row_log_likelihood.size() * sizeof(float));
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

sp_model_params sp_model_default_params(void) noexcept {
  sp_model_params params{};
  params.struct_size = sizeof(sp_model_params);
  params.device = SP_DEVICE_CPU;
  params.device_index = 0;
  params.dtype = SP_DTYPE_FLOAT32;
  params.allow_tf32 = 0;
  return params;
}

sp_model_info sp_model_info_init(void) noexcept {
  sp_model_info info{};
  info.struct_size = sizeof(sp_model_info);
  return info;
}

sp_batch sp_batch_init(void) noexcept {
  sp_batch batch{};
  batch.struct_size = sizeof(sp_batch);
  return batch;
}

sp_status sp_model_create(sp_model** out, const char* model_folder, const sp_model_params* params) noexcept {
  if (out) *out = nullptr;
  return guard([&] {
    require_not_null(out, "out");
    require_not_null(model_folder, "model_folder");
    const sp_model_params settings = read_params(params, sp_model_default_params(), "sp_model_params");
    auto handle = std::make_unique<sp_model>();
    handle->model = engine::Model::load(model_folder, model_options(settings));
    register_handle(handle.get(), HandleKind::Model);
    *out = handle.release();
  });
}

void sp_model_free(sp_model* model) noexcept { free_handle(model, HandleKind::Model); }

sp_status sp_model_get_info(const sp_model* model, sp_model_info* info) noexcept {
  return guard([&] {
    const auto core = checked(model, "model");
    const engine::ModelInfo& source = core->info();
    require_not_null(info, "info");
    sp_model_info full{};
    full.struct_size = sizeof(sp_model_info);
    full.vocab_size = source.vocab_size;
    full.hidden_size = source.hidden_size;
    full.num_layers = source.num_layers;
    full.num_attention_heads = source.num_heads;
    full.num_key_value_heads = source.num_kv_heads;
    full.head_dim = source.head_dim;
    full.max_position_embeddings = source.max_position_embeddings;
    std::strncpy(full.model_type, source.model_type.c_str(), sizeof(full.model_type) - 1);
    write_result(info, full, "sp_model_info");
  });
}

sp_status sp_model_logits(const sp_model* model, const sp_batch* batch, sp_logits_mode mode, float* out,
                          size_t out_count) noexcept {
  return guard([&] {
    const auto core = checked(model, "model");
    const engine::HostBatch host = checked_batch(batch, core->info());
    const engine::LogitsMode logits_mode = checked_logits_mode(mode);
    check_logits_buffer(host, logits_mode, core->info(), out, out_count);
    core->logits(host, logits_mode, out, out_count);
  });
}

sp_status sp_model_eval_loss(const sp_model* model, const sp_batch* batch, float* mean_loss,
                             float* row_log_likelihood) noexcept {
  return guard([&] {
    const auto core = checked(model, "model");
    const engine::HostBatch host = checked_batch(batch, core->info());
    require_not_null(mean_loss, "mean_loss");
    fill_eval(core->evaluate(host), mean_loss, row_log_likelihood);
  });
}

}  // extern "C"

namespace sp::capi {
// Shared with api_adapter.cpp.
void copy_eval_result(const engine::EvalResult& result, float* mean_loss, float* row_log_likelihood) {
  fill_eval(result, mean_loss, row_log_likelihood);
}
}  // namespace sp::capi
