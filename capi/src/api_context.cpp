// Entry points: contexts (generation, streaming, scoring, prefill/decode), the logits processors and
// the model's end-of-sequence ids.
#include <cstring>

#include "batch_check.h"
#include "guard.h"
#include "handles.h"
#include "outputs.h"
#include "params.h"

using namespace sp;
using namespace sp::capi;

namespace {

// The ABI-level checks of an sp_prompts: pointers, the count, and that each array's count is the
// one its shape implies (the lengths' sum for ids). Values (ids, task ids, lengths >= 1) are the
// core's to check.
engine::HostPrompts checked_prompts(const sp_prompts* given, const char* name) {
  const std::string n = name;
  require(given != nullptr, n + " must not be NULL");
  const sp_prompts prompts = read_params(given, sp_prompts_init(), "sp_prompts");
  require(prompts.count > 0, n + "->count must be positive, got " + std::to_string(prompts.count));
  require(prompts.lengths != nullptr, n + "->lengths must not be NULL");
  if (prompts.num_lengths != static_cast<size_t>(prompts.count))
    fail(ErrorKind::ShapeMismatch, n + "->num_lengths is " + std::to_string(prompts.num_lengths) + " but count is " +
                                       std::to_string(prompts.count));
  int64_t total = 0;
  for (int32_t row = 0; row < prompts.count; ++row) {
    require(prompts.lengths[row] >= 0, n + "->lengths[" + std::to_string(row) + "] is " +
                                           std::to_string(prompts.lengths[row]) + "; lengths must be >= 1");
    total += prompts.lengths[row];
  }
  if (prompts.num_ids != static_cast<size_t>(total))
    fail(ErrorKind::ShapeMismatch,
         n + "->num_ids is " + std::to_string(prompts.num_ids) + " but the lengths add up to " + std::to_string(total));
  require(prompts.ids != nullptr || total == 0, n + "->ids must not be NULL");
  if (prompts.task_ids && prompts.num_task_ids != static_cast<size_t>(prompts.count))
    fail(ErrorKind::ShapeMismatch, n + "->num_task_ids is " + std::to_string(prompts.num_task_ids) + " but count is " +
                                       std::to_string(prompts.count));
  engine::HostPrompts host;
  host.count = prompts.count;
  host.ids = prompts.ids;
  host.lengths = prompts.lengths;
  host.task_ids = prompts.task_ids;
  host.adapters = checked_adapters(prompts.adapters, prompts.num_adapters, prompts.count, n + "->adapters");
  return host;
}

// The pointer/count pairs of sp_generate_params (values are the core's to check).
sp_generate_params checked_generate_params(const sp_generate_params* given) {
  const sp_generate_params params = read_params(given, sp_generate_default_params(), "sp_generate_params");
  require(params.stop_ids != nullptr || params.num_stop_ids == 0,
          "sp_generate_params.stop_ids must not be NULL when num_stop_ids is " + std::to_string(params.num_stop_ids));
  require(params.stop_strings != nullptr || params.num_stop_strings == 0,
          "sp_generate_params.stop_strings must not be NULL when num_stop_strings is " +
              std::to_string(params.num_stop_strings));
  for (size_t i = 0; i < params.num_stop_strings; ++i)
    require(params.stop_strings[i] != nullptr, "sp_generate_params.stop_strings[" + std::to_string(i) + "] is NULL");
  return params;
}

// *result read once (as every versioned struct), its arrays checked against what the generation
// will write, before anything runs.
sp_generation checked_generation(const sp_generation* result, const engine::HostPrompts& prompts,
                                 int32_t max_new_tokens) {
  const sp_generation known = read_params(result, sp_generation_init(), "sp_generation");
  const auto rows = static_cast<size_t>(prompts.count);
  if (known.ids) {
    const size_t needed = rows * static_cast<size_t>(max_new_tokens > 0 ? max_new_tokens : 0);
    if (known.ids_capacity < needed)
      fail(ErrorKind::BufferTooSmall, "result->ids holds " + std::to_string(known.ids_capacity) +
                                          " ids but count * max_new_tokens is " + std::to_string(needed));
  }
  if ((known.counts || known.stop_reasons) && known.rows_capacity < rows)
    fail(ErrorKind::BufferTooSmall, "result->rows_capacity is " + std::to_string(known.rows_capacity) +
                                        " but there are " + std::to_string(rows) + " prompts");
  return known;
}

}  // namespace

extern "C" {

sp_context_params sp_context_default_params(void) noexcept {
  sp_context_params params = sized<sp_context_params>();
  params.max_batch_size = 1;
  params.max_length = 512;
  return params;
}

sp_prompts sp_prompts_init(void) noexcept { return sized<sp_prompts>(); }

sp_generation sp_generation_init(void) noexcept { return sized<sp_generation>(); }

sp_generate_params sp_generate_default_params(void) noexcept {
  sp_generate_params params = sized<sp_generate_params>();
  params.max_new_tokens = 32;
  params.do_sample = 0;
  params.temperature = 1.0f;
  params.top_k = 50;
  params.top_p = 1.0f;
  params.min_p = 0.0f;
  params.repetition_penalty = 1.0f;
  params.seed = 0;
  params.use_model_eos = 1;
  params.skip_special_tokens = 1;
  return params;
}

sp_status sp_context_create(sp_context** out, sp_model* model, sp_adapter* adapter,
                            const sp_context_params* params) noexcept {
  if (out) *out = nullptr;
  return guard([&] {
    require_not_null(out, "out");
    const auto core_model = checked(model, "model");
    std::shared_ptr<engine::Adapter> core_adapter;
    if (adapter) core_adapter = checked(adapter, "adapter");
    const sp_context_params settings = read_params(params, sp_context_default_params(), "sp_context_params");
    publish(out, engine::Context::create(core_model, core_adapter, settings), HandleKind::Context);
  });
}

void sp_context_free(sp_context* context) noexcept { free_handle(context, HandleKind::Context); }

sp_status sp_context_reset(sp_context* context) noexcept {
  return guard([&] { checked(context, "context")->reset(); });
}

sp_status sp_context_generate(sp_context* context, const sp_prompts* prompts, const sp_generate_params* params,
                              sp_generation* result) noexcept {
  return guard([&] {
    const auto core = checked(context, "context");
    const engine::HostPrompts host = checked_prompts(prompts, "prompts");
    const sp_generate_params settings = checked_generate_params(params);
    sp_generation known = checked_generation(result, host, settings.max_new_tokens);
    core->generate(host, settings, result ? &known : nullptr);
  });
}

sp_status sp_context_generate_begin(sp_context* context, const sp_prompts* prompts,
                                    const sp_generate_params* params) noexcept {
  return guard([&] {
    const auto core = checked(context, "context");
    const engine::HostPrompts host = checked_prompts(prompts, "prompts");
    sp_generate_params settings = checked_generate_params(params);
    settings.callback = nullptr;
    settings.user_data = nullptr;
    core->generate_begin(host, settings);
  });
}

sp_status sp_context_generate_next(sp_context* context, sp_token_event* event, int32_t* has_event) noexcept {
  if (has_event) *has_event = 0;
  return guard([&] {
    const auto core = checked(context, "context");
    require_not_null(event, "event");
    require_not_null(has_event, "has_event");
    *has_event = core->generate_next(*event) ? 1 : 0;
  });
}

sp_status sp_context_generate_stop(sp_context* context) noexcept {
  return guard([&] { checked(context, "context")->generate_stop(); });
}

sp_status sp_context_event_text(const sp_context* context, char* text, size_t capacity, size_t* size) noexcept {
  return guard([&] {
    const auto core = checked(context, "context");
    require_not_null(size, "size");
    write_text(core->event_text(), text, capacity, size);
  });
}

sp_status sp_context_score(sp_context* context, const sp_prompts* prompts, const sp_prompts* continuations,
                           float* log_likelihoods, size_t count) noexcept {
  return guard([&] {
    const auto core = checked(context, "context");
    const engine::HostPrompts prompt_rows = checked_prompts(prompts, "prompts");
    const engine::HostPrompts continuation_rows = checked_prompts(continuations, "continuations");
    require_not_null(log_likelihoods, "log_likelihoods");
    if (continuation_rows.count != prompt_rows.count)
      fail(ErrorKind::ShapeMismatch, "there are " + std::to_string(prompt_rows.count) + " prompts but " +
                                         std::to_string(continuation_rows.count) + " continuations");
    if (count < static_cast<size_t>(prompt_rows.count))
      fail(ErrorKind::BufferTooSmall, "log_likelihoods holds " + std::to_string(count) + " floats but there are " +
                                          std::to_string(prompt_rows.count) + " pairs");
    const std::vector<float> values = core->score(prompt_rows, continuation_rows);
    std::memcpy(log_likelihoods, values.data(), values.size() * sizeof(float));
  });
}

sp_status sp_context_prefill(sp_context* context, const sp_prompts* prompts, float* logits,
                             size_t logits_count) noexcept {
  return guard([&] {
    const auto core = checked(context, "context");
    const engine::HostPrompts host = checked_prompts(prompts, "prompts");
    require_not_null(logits, "logits");
    core->prefill(host, logits, logits_count);
  });
}

sp_status sp_context_decode(sp_context* context, const int32_t* ids, size_t count, float* logits,
                            size_t logits_count) noexcept {
  return guard([&] {
    const auto core = checked(context, "context");
    require_not_null(ids, "ids");
    require_not_null(logits, "logits");
    core->decode(ids, count, logits, logits_count);
  });
}

sp_status sp_logits_process(const sp_generate_params* params, const int32_t* history, size_t history_count,
                            float* logits, size_t vocab_size) noexcept {
  return guard([&] {
    require_not_null(params, "params");
    const sp_generate_params settings = checked_generate_params(params);
    require(history != nullptr || history_count == 0,
            "history must not be NULL when history_count is " + std::to_string(history_count));
    require_not_null(logits, "logits");
    engine::process_logits(settings, history, history_count, logits, vocab_size);
  });
}

sp_status sp_model_eos_ids(const sp_model* model, int32_t* ids, size_t capacity, size_t* count) noexcept {
  return guard([&] {
    const auto core = checked(model, "model");
    require_not_null(count, "count");
    const std::vector<int32_t> eos = core->eos_ids();
    *count = 0;
    if (!eos.empty()) write_ids(eos, ids, capacity, count, "the model ends generation at");
  });
}

}  // extern "C"
