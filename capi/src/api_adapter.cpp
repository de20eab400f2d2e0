// Entry points: adapters (create, save, load, inspect, forward passes).
#include <string>

#include "batch_check.h"
#include "guard.h"
#include "handles.h"
#include "params.h"

using namespace sp;
using namespace sp::capi;

namespace sp::capi {
void copy_eval_result(const engine::EvalResult& result, float* mean_loss, float* row_log_likelihood);
}

namespace {
engine::AdapterOptions adapter_options(const sp_adapter_params& params, const engine::ModelInfo& model) {
  require(params.method == SP_METHOD_PROMPT_TUNING,
          "params->method " + std::to_string(static_cast<int>(params.method)) + " is not a supported sp_method");
  require(params.num_virtual_tokens > 0,
          "params->num_virtual_tokens must be positive, got " + std::to_string(params.num_virtual_tokens));
  require(params.init == SP_INIT_RANDOM || params.init == SP_INIT_SAMPLE_VOCAB || params.init == SP_INIT_TEXT,
          "params->init " + std::to_string(static_cast<int>(params.init)) + " is not an sp_prompt_init");
  engine::AdapterOptions options;
  options.num_virtual_tokens = params.num_virtual_tokens;
  options.seed = params.seed;
  options.init = params.init == SP_INIT_SAMPLE_VOCAB ? engine::PromptInit::SampleVocab
                 : params.init == SP_INIT_TEXT       ? engine::PromptInit::Text
                                                     : engine::PromptInit::Random;
  if (params.init == SP_INIT_TEXT) {
    require(params.init_token_ids != nullptr && params.num_init_token_ids > 0,
            "SP_INIT_TEXT needs params->init_token_ids and a positive params->num_init_token_ids");
    for (size_t i = 0; i < params.num_init_token_ids; ++i) {
      const int32_t id = params.init_token_ids[i];
      if (id < 0 || id >= model.vocab_size)
        fail(ErrorKind::OutOfRange, "init_token_ids[" + std::to_string(i) + "] = " + std::to_string(id) +
                                        " is outside the vocabulary [0, " + std::to_string(model.vocab_size) + ")");
      options.init_token_ids.push_back(id);
    }
  }
  if (params.init_text) options.init_text = params.init_text;
  if (params.tokenizer_name_or_path) options.tokenizer_name_or_path = params.tokenizer_name_or_path;
  return options;
}

template <class Create>
void make_adapter(sp_adapter** out, Create&& create) {
  auto handle = std::make_unique<sp_adapter>();
  handle->adapter = create();
  register_handle(handle.get(), HandleKind::Adapter);
  *out = handle.release();
}
}  // namespace

extern "C" {

sp_adapter_params sp_adapter_default_params(void) noexcept {
  sp_adapter_params params{};
  params.struct_size = sizeof(sp_adapter_params);
  params.method = SP_METHOD_PROMPT_TUNING;
  params.num_virtual_tokens = 20;
  params.init = SP_INIT_RANDOM;
  params.seed = 0;
  return params;
}

sp_status sp_adapter_create(sp_adapter** out, sp_model* model, const sp_adapter_params* params) noexcept {
  if (out) *out = nullptr;
  return guard([&] {
    require_not_null(out, "out");
    const auto& core_model = checked(model, "model").model;
    const sp_adapter_params settings = read_params(params, sp_adapter_default_params(), "sp_adapter_params");
    const engine::AdapterOptions options = adapter_options(settings, core_model->info());
    make_adapter(out, [&] { return engine::Adapter::create(core_model, options); });
  });
}

sp_status sp_load_adapter(sp_adapter** out, sp_model* model, const char* folder) noexcept {
  if (out) *out = nullptr;
  return guard([&] {
    require_not_null(out, "out");
    const auto& core_model = checked(model, "model").model;
    require_not_null(folder, "folder");
    make_adapter(out, [&] { return engine::Adapter::load(core_model, folder); });
  });
}

void sp_adapter_free(sp_adapter* adapter) noexcept { free_handle(adapter, HandleKind::Adapter); }

sp_status sp_save_adapter(const sp_adapter* adapter, const char* folder) noexcept {
  return guard([&] {
    const auto& core = checked(adapter, "adapter").adapter;
    require_not_null(folder, "folder");
    require(folder[0] != '\0', "folder must not be empty");
    core->save(folder);
  });
}

sp_status sp_adapter_parameter_size(const sp_adapter* adapter, const char* name, size_t* count) noexcept {
  return guard([&] {
    const auto& core = checked(adapter, "adapter").adapter;
    require_not_null(name, "name");
    require_not_null(count, "count");
    *count = core->parameter_size(name);
  });
}

sp_status sp_adapter_get_parameter(const sp_adapter* adapter, const char* name, float* out, size_t count) noexcept {
  return guard([&] {
    const auto& core = checked(adapter, "adapter").adapter;
    require_not_null(name, "name");
    require_not_null(out, "out");
    core->copy_parameter(name, out, count);
  });
}

sp_status sp_logits(const sp_adapter* adapter, const sp_batch* batch, sp_logits_mode mode, float* out,
                    size_t out_count) noexcept {
  return guard([&] {
    const auto& core = checked(adapter, "adapter").adapter;
    const engine::ModelInfo& info = core->model().info();
    const engine::HostBatch host = checked_batch(batch, info);
    const engine::LogitsMode logits_mode = checked_logits_mode(mode);
    check_logits_buffer(host, logits_mode, info, out, out_count);
    core->logits(host, logits_mode, out, out_count);
  });
}

sp_status sp_eval_loss(const sp_adapter* adapter, const sp_batch* batch, float* mean_loss,
                       float* row_log_likelihood) noexcept {
  return guard([&] {
    const auto& core = checked(adapter, "adapter").adapter;
    const engine::HostBatch host = checked_batch(batch, core->model().info());
    require_not_null(mean_loss, "mean_loss");
    copy_eval_result(core->evaluate(host), mean_loss, row_log_likelihood);
  });
}

}  // extern "C"
