// Entry points: adapters (create, save, load, inspect, forward passes).
#include <algorithm>
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
// The C enums and the core's share their order; method_config() casts between them.
static_assert(static_cast<int>(methods::MethodKind::MultitaskPromptTuning) == SP_METHOD_MULTITASK_PROMPT_TUNING, "");
static_assert(static_cast<int>(methods::PromptInit::OnlySourceShared) == SP_INIT_ONLY_SOURCE_SHARED, "");
static_assert(static_cast<int>(methods::PromptInit::SampleVocab) == SP_INIT_SAMPLE_VOCAB, "");

methods::MethodConfig method_config(const sp_adapter_params& params, const engine::ModelInfo& model) {
  require(params.method >= SP_METHOD_PROMPT_TUNING && params.method <= SP_METHOD_MULTITASK_PROMPT_TUNING,
          "params->method " + std::to_string(static_cast<int>(params.method)) + " is not an sp_method");
  require(params.init >= SP_INIT_RANDOM && params.init <= SP_INIT_ONLY_SOURCE_SHARED,
          "params->init " + std::to_string(static_cast<int>(params.init)) + " is not an sp_prompt_init");
  require(params.encoder_type == SP_ENCODER_MLP || params.encoder_type == SP_ENCODER_LSTM,
          "params->encoder_type " + std::to_string(static_cast<int>(params.encoder_type)) + " is not an sp_encoder_type");
  require(params.num_virtual_tokens > 0,
          "params->num_virtual_tokens must be positive, got " + std::to_string(params.num_virtual_tokens));
  require(params.encoder_hidden_size >= 0, "params->encoder_hidden_size must not be negative (0 = token_dim), got " +
                                               std::to_string(params.encoder_hidden_size));
  require(params.encoder_num_layers >= 1, "params->encoder_num_layers must be at least 1, got " +
                                              std::to_string(params.encoder_num_layers));
  require(params.encoder_dropout >= 0 && params.encoder_dropout < 1, "params->encoder_dropout must be in [0, 1)");
  require(params.num_tasks >= 1, "params->num_tasks must be at least 1, got " + std::to_string(params.num_tasks));
  require(params.num_ranks >= 1, "params->num_ranks must be at least 1, got " + std::to_string(params.num_ranks));
  require(params.source_task >= 0, "params->source_task must not be negative");

  methods::MethodConfig config;
  config.kind = static_cast<methods::MethodKind>(params.method);  // the enums share their order
  config.init = static_cast<methods::PromptInit>(params.init);
  config.num_virtual_tokens = params.num_virtual_tokens;
  config.seed = params.seed;
  if (params.init == SP_INIT_TEXT) {
    require(params.init_token_ids != nullptr && params.num_init_token_ids > 0,
            "SP_INIT_TEXT needs params->init_token_ids and a positive params->num_init_token_ids");
    for (size_t i = 0; i < params.num_init_token_ids; ++i) {
      const int32_t id = params.init_token_ids[i];
      if (id < 0 || id >= model.vocab_size)
        fail(ErrorKind::OutOfRange, "init_token_ids[" + std::to_string(i) + "] = " + std::to_string(id) +
                                        " is outside the vocabulary [0, " + std::to_string(model.vocab_size) + ")");
      config.init_token_ids.push_back(id);
    }
  }
  if (params.init_text) config.init_text = params.init_text;
  if (params.tokenizer_name_or_path) config.tokenizer_name_or_path = params.tokenizer_name_or_path;
  config.encoder_hidden_size = params.encoder_hidden_size;
  config.prefix_projection = params.prefix_projection != 0;
  config.zero_init = params.prefix_zero_init != 0;
  config.encoder_type = params.encoder_type == SP_ENCODER_LSTM ? methods::EncoderType::Lstm : methods::EncoderType::Mlp;
  config.encoder_num_layers = params.encoder_num_layers;
  config.encoder_dropout = params.encoder_dropout;
  config.num_tasks = params.num_tasks;
  config.num_ranks = params.num_ranks;
  if (params.source_adapter) config.source_path = params.source_adapter;
  config.source_task = params.source_task;
  return config;
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
  params.encoder_hidden_size = 0;
  params.encoder_type = SP_ENCODER_MLP;
  params.encoder_num_layers = 2;
  params.encoder_dropout = 0.0f;
  params.num_tasks = 1;
  params.num_ranks = 1;
  params.source_task = 0;
  return params;
}

sp_adapter_info sp_adapter_info_init(void) noexcept {
  sp_adapter_info info{};
  info.struct_size = sizeof(sp_adapter_info);
  return info;
}

sp_status sp_adapter_create(sp_adapter** out, sp_model* model, const sp_adapter_params* params) noexcept {
  if (out) *out = nullptr;
  return guard([&] {
    require_not_null(out, "out");
    const auto core_model = checked(model, "model");
    const sp_adapter_params settings = read_params(params, sp_adapter_default_params(), "sp_adapter_params");
    const methods::MethodConfig config = method_config(settings, core_model->info());
    make_adapter(out, [&] { return engine::Adapter::create(core_model, config); });
  });
}

sp_status sp_load_adapter(sp_adapter** out, sp_model* model, const char* folder) noexcept {
  if (out) *out = nullptr;
  return guard([&] {
    require_not_null(out, "out");
    const auto core_model = checked(model, "model");
    require_not_null(folder, "folder");
    make_adapter(out, [&] { return engine::Adapter::load(core_model, folder); });
  });
}

sp_status sp_load_adapter_file(sp_adapter** out, sp_model* model, const char* path) noexcept {
  if (out) *out = nullptr;
  return guard([&] {
    require_not_null(out, "out");
    const auto core_model = checked(model, "model");
    require_not_null(path, "path");
    make_adapter(out, [&] { return engine::Adapter::load_file(core_model, path); });
  });
}

void sp_adapter_free(sp_adapter* adapter) noexcept { free_handle(adapter, HandleKind::Adapter); }

sp_status sp_save_adapter_file(const sp_adapter* adapter, const char* path) noexcept {
  return guard([&] {
    const auto core = checked(adapter, "adapter");
    require_not_null(path, "path");
    require(path[0] != '\0', "path must not be empty");
    core->save_file(path);
  });
}

sp_status sp_adapter_get_info(const sp_adapter* adapter, sp_adapter_info* info) noexcept {
  return guard([&] {
    const auto core = checked(adapter, "adapter");
    const engine::AdapterInfo& source = core->info();
    require_not_null(info, "info");
    sp_adapter_info full{};
    full.struct_size = sizeof(sp_adapter_info);
    full.method = static_cast<sp_method>(source.kind);
    full.num_virtual_tokens = static_cast<int32_t>(source.num_virtual_tokens);
    full.num_tasks = static_cast<int32_t>(source.num_tasks);
    full.num_parameter_tensors = static_cast<int32_t>(source.parameter_names.size());
    full.num_trainable_parameters = source.num_trainable_values;
    full.vocab_size = core->model().info().vocab_size;
    write_result(info, full, "sp_adapter_info");
  });
}

sp_status sp_adapter_parameter_name(const sp_adapter* adapter, int32_t index, const char** name) noexcept {
  return guard([&] {
    const auto core = checked(adapter, "adapter");
    const engine::AdapterInfo& info = core->info();
    require_not_null(name, "name");
    require(index >= 0 && static_cast<size_t>(index) < info.parameter_names.size(),
            "index " + std::to_string(index) + " is outside [0, " + std::to_string(info.parameter_names.size()) + ")");
    *name = info.parameter_names[static_cast<size_t>(index)].c_str();
  });
}

sp_status sp_save_adapter(const sp_adapter* adapter, const char* folder) noexcept {
  return guard([&] {
    const auto core = checked(adapter, "adapter");
    require_not_null(folder, "folder");
    require(folder[0] != '\0', "folder must not be empty");
    core->save(folder);
  });
}

sp_status sp_adapter_parameter_size(const sp_adapter* adapter, const char* name, size_t* count) noexcept {
  return guard([&] {
    const auto core = checked(adapter, "adapter");
    require_not_null(name, "name");
    require_not_null(count, "count");
    *count = core->parameter_size(name);
  });
}

sp_status sp_adapter_parameter_shape(const sp_adapter* adapter, const char* name, int64_t* dims, size_t max_dims,
                                     size_t* num_dims) noexcept {
  return guard([&] {
    const auto core = checked(adapter, "adapter");
    require_not_null(name, "name");
    require_not_null(num_dims, "num_dims");
    require(dims != nullptr || max_dims == 0, "dims must not be NULL when max_dims > 0");
    const std::vector<int64_t> shape = core->parameter_shape(name);
    *num_dims = shape.size();
    if (max_dims < shape.size())
      throw BufferTooSmall("'" + std::string(name) + "' has " + std::to_string(shape.size()) +
                           " dimensions but dims holds " + std::to_string(max_dims));
    std::copy(shape.begin(), shape.end(), dims);
  });
}

sp_status sp_adapter_get_parameter(const sp_adapter* adapter, const char* name, float* out, size_t count) noexcept {
  return guard([&] {
    const auto core = checked(adapter, "adapter");
    require_not_null(name, "name");
    require_not_null(out, "out");
    core->copy_parameter(name, out, count);
  });
}

sp_status sp_logits(const sp_adapter* adapter, const sp_batch* batch, sp_logits_mode mode, float* out,
                    size_t out_count) noexcept {
  return guard([&] {
    const auto core = checked(adapter, "adapter");
    const engine::ModelInfo& info = core->model().info();
    const engine::HostBatch host = checked_adapter_batch(batch, *core);
    const engine::LogitsMode logits_mode = checked_logits_mode(mode);
    check_logits_buffer(host, logits_mode, info, out, out_count);
    core->logits(host, logits_mode, out, out_count);
  });
}

sp_status sp_eval_loss(const sp_adapter* adapter, const sp_batch* batch, float* mean_loss,
                       float* row_log_likelihood) noexcept {
  return guard([&] {
    const auto core = checked(adapter, "adapter");
    const engine::HostBatch host = checked_adapter_batch(batch, *core);
    require_not_null(mean_loss, "mean_loss");
    copy_eval_result(core->evaluate(host), mean_loss, row_log_likelihood);
  });
}

}  // extern "C"
