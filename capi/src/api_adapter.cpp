// Entry points: adapters (create, save, load, inspect, forward passes).
#include <algorithm>
#include <string>

#include "batch_check.h"
#include "forward_calls.h"
#include "guard.h"
#include "handles.h"
#include "outputs.h"
#include "params.h"

using namespace sp;
using namespace sp::capi;

namespace {
// The ABI-level checks of sp_adapter_params: enum fields hold enum values and every array comes
// with its pointer. What the values mean (ranges, which method accepts which init) is checked by
// the method in the core, once for requests and files alike.
void check_adapter_params(const sp_adapter_params& params) {
  require(params.method >= SP_METHOD_PROMPT_TUNING && params.method <= SP_METHOD_MULTITASK_PROMPT_TUNING,
          "params->method " + std::to_string(static_cast<int>(params.method)) + " is not an sp_method");
  require(params.init >= SP_INIT_RANDOM && params.init <= SP_INIT_ONLY_SOURCE_SHARED,
          "params->init " + std::to_string(static_cast<int>(params.init)) + " is not an sp_prompt_init");
  require(
      params.encoder_type == SP_ENCODER_MLP || params.encoder_type == SP_ENCODER_LSTM,
      "params->encoder_type " + std::to_string(static_cast<int>(params.encoder_type)) + " is not an sp_encoder_type");
  require(params.task_type >= SP_TASK_CAUSAL_LM && params.task_type <= SP_TASK_FEATURE_EXTRACTION,
          "params->task_type " + std::to_string(static_cast<int>(params.task_type)) + " is not an sp_task_type");
  require(
      params.init_token_ids != nullptr || params.num_init_token_ids == 0,
      "params->init_token_ids is NULL but params->num_init_token_ids is " + std::to_string(params.num_init_token_ids));
}

// sp_adapter_load and sp_adapter_load_file: `load` reads the PEFT folder or the single file.
sp_status load_adapter(sp_adapter** out, sp_model* model, const char* path, const char* name,
                       std::shared_ptr<engine::Adapter> (*load)(std::shared_ptr<const engine::Model>,
                                                                const std::string&)) noexcept {
  if (out) *out = nullptr;
  return guard([&] {
    require_not_null(out, "out");
    const auto core_model = checked(model, "model");
    require_not_null(path, name);
    publish(out, load(core_model, path), HandleKind::Adapter);
  });
}

void require_path(const char* path, const char* name) {
  require_not_null(path, name);
  require(path[0] != '\0', std::string(name) + " must not be empty");
}
}  // namespace

extern "C" {

sp_adapter_params sp_adapter_default_params(void) noexcept {
  sp_adapter_params params = sized<sp_adapter_params>();
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
  params.task_type = SP_TASK_CAUSAL_LM;
  params.num_labels = 2;
  return params;
}

sp_adapter_info sp_adapter_info_init(void) noexcept { return sized<sp_adapter_info>(); }

sp_status sp_adapter_create(sp_adapter** out, sp_model* model, const sp_adapter_params* params) noexcept {
  if (out) *out = nullptr;
  return guard([&] {
    require_not_null(out, "out");
    const auto core_model = checked(model, "model");
    const sp_adapter_params settings = read_params(params, sp_adapter_default_params(), "sp_adapter_params");
    check_adapter_params(settings);
    publish(out, engine::Adapter::create(core_model, settings), HandleKind::Adapter);
  });
}

sp_status sp_adapter_load(sp_adapter** out, sp_model* model, const char* folder) noexcept {
  return load_adapter(out, model, folder, "folder", engine::Adapter::load);
}

sp_status sp_adapter_load_file(sp_adapter** out, sp_model* model, const char* path) noexcept {
  return load_adapter(out, model, path, "path", engine::Adapter::load_file);
}

void sp_adapter_free(sp_adapter* adapter) noexcept { free_handle(adapter, HandleKind::Adapter); }

sp_status sp_adapter_save(const sp_adapter* adapter, const char* folder) noexcept {
  return guard([&] {
    const auto core = checked(adapter, "adapter");
    require_path(folder, "folder");
    core->save(folder);
  });
}

sp_status sp_adapter_save_file(const sp_adapter* adapter, const char* path) noexcept {
  return guard([&] {
    const auto core = checked(adapter, "adapter");
    require_path(path, "path");
    core->save_file(path);
  });
}

sp_status sp_adapter_get_info(const sp_adapter* adapter, sp_adapter_info* info) noexcept {
  return guard([&] {
    const auto core = checked(adapter, "adapter");
    const engine::AdapterInfo& source = core->info();
    require_not_null(info, "info");
    sp_adapter_info full = sized<sp_adapter_info>();
    full.method = source.method;
    full.num_virtual_tokens = static_cast<int32_t>(source.num_virtual_tokens);
    full.num_tasks = static_cast<int32_t>(source.num_tasks);
    full.num_parameter_tensors = static_cast<int32_t>(source.parameter_names.size());
    full.num_trainable_parameters = source.num_trainable_parameters;
    full.vocab_size = core->model().info().vocab_size;
    full.task_type = source.task_type;
    full.num_labels = static_cast<int32_t>(source.num_labels);
    full.hidden_size = core->model().info().hidden_size;
    full.version = core->version();
    write_result(info, full, "sp_adapter_info");
  });
}

sp_status sp_adapter_describe(const char* path, char* json, size_t capacity, size_t* size) noexcept {
  return guard([&] {
    require_path(path, "path");
    require_not_null(size, "size");
    write_text(engine::describe_adapter(path), json, capacity, size);
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
      fail(ErrorKind::BufferTooSmall, "'" + std::string(name) + "' has " + std::to_string(shape.size()) +
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

sp_status sp_adapter_logits(const sp_adapter* adapter, const sp_batch* batch, sp_logits_mode mode, float* out,
                            size_t out_count) noexcept {
  return guard([&] {
    const auto core = checked(adapter, "adapter");
    write_logits(*core, checked_adapter_batch(batch, *core), mode, out, out_count);
  });
}

sp_status sp_adapter_eval_loss(const sp_adapter* adapter, const sp_batch* batch, float* mean_loss,
                               float* row_log_likelihood) noexcept {
  return guard([&] {
    const auto core = checked(adapter, "adapter");
    write_evaluation(*core, checked_adapter_batch(batch, *core), mean_loss, row_log_likelihood);
  });
}

sp_status sp_adapter_classify(const sp_adapter* adapter, const sp_batch* batch, sp_class_output what, float* out,
                              size_t out_count) noexcept {
  return guard([&] {
    const auto core = checked(adapter, "adapter");
    const engine::HostBatch host = checked_adapter_batch(batch, *core);
    require(what == SP_CLASS_LOGITS || what == SP_CLASS_PROBABILITIES,
            "what " + std::to_string(static_cast<int>(what)) + " is not an sp_class_output");
    require_not_null(out, "out");
    core->classify(host, what, out, out_count);
  });
}

sp_status sp_adapter_hidden_states(const sp_adapter* adapter, const sp_batch* batch, float* out,
                                   size_t out_count) noexcept {
  return guard([&] {
    const auto core = checked(adapter, "adapter");
    const engine::HostBatch host = checked_adapter_batch(batch, *core);
    require_not_null(out, "out");
    core->hidden_states(host, out, out_count);
  });
}

}  // extern "C"
