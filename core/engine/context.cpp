#include "engine/context.h"

#include <ATen/ATen.h>

#include <cmath>
#include <cstring>

#include "engine/impl.h"
#include "engine/translated.h"
#include "generation/generation.h"
#include "generation/prompts.h"
#include "generation/sampling.h"
#include "generation/scoring.h"
#include "generation/session.h"
#include "methods/parameter_shapes.h"
#include "model/transformer.h"
#include "prompting/prompt_snapshot.h"
#include "util/errors.h"

namespace sp::engine {

struct Context::Impl {
  std::shared_ptr<const Model> model;
  std::shared_ptr<const model::Transformer> transformer;
  std::shared_ptr<const tok::Tokenizer> tokenizer;  // null when the model folder has none usable
  std::unique_ptr<generation::Session> session;
  std::unique_ptr<generation::Generation> generation;
  generation::TokenEvent event;  // the latest one handed out
  bool has_event = false;
};

namespace {

constexpr int64_t kMaxRows = 4096, kMaxLength = int64_t{1} << 20;

generation::Prompts to_prompts(const Model& model, const HostPrompts& host) {
  generation::Prompts prompts;
  const int32_t* ids = host.ids;
  for (int32_t row = 0; row < host.count; ++row) {
    const int32_t length = host.lengths[row];
    if (length < 0)
      fail(ErrorKind::InvalidArgument,
           "lengths[" + std::to_string(row) + "] is " + std::to_string(length) + "; lengths must be >= 1");
    prompts.rows.emplace_back(ids, ids + length);
    ids += length;
  }
  if (host.task_ids) prompts.task_ids.assign(host.task_ids, host.task_ids + host.count);
  if (!host.adapters.empty()) prompts.row_prompts = compiled_prompts_of(model, host.adapters, "adapters");
  return prompts;
}

void check_out(std::size_t needed, std::size_t out_count, const char* what) {
  if (out_count < needed)
    fail(ErrorKind::BufferTooSmall, std::string(what) + " holds " + std::to_string(out_count) +
                                        " floats but the result needs " + std::to_string(needed));
}

}  // namespace

Context::Context() = default;
Context::~Context() = default;

std::shared_ptr<Context> Context::create(std::shared_ptr<const Model> model, std::shared_ptr<const Adapter> adapter,
                                         const sp_context_params& params) {
  return translated([&] {
    apply_num_threads();  // the cache is allocated and zeroed here
    if (params.max_batch_size < 1 || params.max_batch_size > kMaxRows)
      fail(ErrorKind::InvalidArgument, "sp_context_params.max_batch_size must be in [1, " + std::to_string(kMaxRows) +
                                           "], got " + std::to_string(params.max_batch_size));
    if (params.recompute_prompts != 0 && params.recompute_prompts != 1)
      fail(ErrorKind::InvalidArgument,
           "sp_context_params.recompute_prompts must be 0 or 1, got " + std::to_string(params.recompute_prompts));
    if (params.max_length < 1 || params.max_length > kMaxLength)
      fail(ErrorKind::InvalidArgument, "sp_context_params.max_length must be in [1, " + std::to_string(kMaxLength) +
                                           "], got " + std::to_string(params.max_length));
    if (adapter && &adapter->model() != model.get())
      fail(ErrorKind::InvalidArgument, "the adapter belongs to another model than the context's");
    if (!model->impl_->transformer->has_lm_head())
      fail(ErrorKind::Unsupported, "generation needs a decoder; " + model->info().model_type + " is an encoder");
    const sp_task_type task = adapter ? adapter->info().task_type : SP_TASK_CAUSAL_LM;
    if (task != SP_TASK_CAUSAL_LM && task != SP_TASK_SEQ_2_SEQ_LM)
      fail(ErrorKind::Unsupported,
           std::string("generation needs a CAUSAL_LM or SEQ_2_SEQ_LM adapter; this adapter's task is ") +
               objectives::task_name(task));
    auto impl = std::make_unique<Impl>();
    impl->model = model;
    impl->transformer = model->impl_->transformer;
    if (!model->impl_->tokenizer_error) impl->tokenizer = model->impl_->tokenizer;
    model->prepare_call();
    std::shared_ptr<const prompting::CompiledPrompt> prompt =
        adapter ? adapter->compiled_prompt()
                : prompting::CompiledPrompt::compile(*impl->transformer, std::make_shared<prompting::PromptSnapshot>());
    impl->session = std::make_unique<generation::Session>(impl->transformer, std::move(prompt), params.max_batch_size,
                                                          params.max_length, params.recompute_prompts == 1);
    std::shared_ptr<Context> context(new Context());
    context->impl_ = std::move(impl);
    return context;
  });
}

int64_t Context::vocab_size() const { return impl_->model->info().vocab_size; }

std::unique_lock<std::mutex> Context::lock() const {
  if (callback_thread_.load() == std::this_thread::get_id())
    fail(ErrorKind::InvalidArgument, "a context was called from its own generation callback; it may not be");
  return std::unique_lock<std::mutex>(mutex_);
}

void Context::generate_begin(const HostPrompts& host, const sp_generate_params& params) {
  const auto held = lock();
  begin_locked(host, params);
}

void Context::begin_locked(const HostPrompts& host, const sp_generate_params& params) {
  translated([&] {
    impl_->generation.reset();
    impl_->has_event = false;
    generation::GenerationSettings settings;
    settings.max_new_tokens = params.max_new_tokens;
    settings.sampling = generation::sampling_settings(params);
    if (params.use_model_eos != 0 && params.use_model_eos != 1)
      fail(ErrorKind::InvalidArgument,
           "sp_generate_params.use_model_eos must be 0 or 1, got " + std::to_string(params.use_model_eos));
    if (params.skip_special_tokens != 0 && params.skip_special_tokens != 1)
      fail(ErrorKind::InvalidArgument,
           "sp_generate_params.skip_special_tokens must be 0 or 1, got " + std::to_string(params.skip_special_tokens));
    if (params.use_model_eos) settings.eos_ids = impl_->model->eos_ids();
    settings.eos_ids.insert(settings.eos_ids.end(), params.stop_ids, params.stop_ids + params.num_stop_ids);
    for (std::size_t i = 0; i < params.num_stop_strings; ++i)
      settings.stop_strings.emplace_back(params.stop_strings[i]);
    settings.skip_special_tokens = params.skip_special_tokens == 1;
    impl_->model->prepare_call();
    impl_->generation = std::make_unique<generation::Generation>(*impl_->session, impl_->tokenizer,
                                                                 to_prompts(*impl_->model, host), std::move(settings));
  });
}

bool Context::generate_next(sp_token_event& event) {
  const auto held = lock();
  return next_locked(event);
}

bool Context::next_locked(sp_token_event& event) {
  return translated([&] {
    if (!impl_->generation)
      fail(ErrorKind::InvalidArgument, "no generation in progress: call sp_context_generate_begin first");
    impl_->model->prepare_call();
    impl_->has_event = impl_->generation->next(impl_->event);
    if (!impl_->has_event) return false;
    event.row = impl_->event.row;
    event.token_id = impl_->event.token_id;
    event.text = impl_->event.text.c_str();
    event.text_size = impl_->event.text.size();
    event.stop_reason = impl_->event.stop_reason;
    return true;
  });
}

void Context::generate_stop() {
  const auto held = lock();
  if (impl_->generation) impl_->generation->stop();
}

std::string Context::event_text() const {
  const auto held = lock();
  if (!impl_->has_event) fail(ErrorKind::InvalidArgument, "no token event: sp_context_generate_next returned none");
  return impl_->event.text;
}

void Context::generate(const HostPrompts& prompts, const sp_generate_params& params, sp_generation* result) {
  const auto held = lock();
  begin_locked(prompts, params);
  sp_token_event event{};
  while (next_locked(event)) {
    if (!params.callback) continue;
    struct InCallback {  // marks this thread as inside the callback, however the callback returns
      std::atomic<std::thread::id>& thread;
      explicit InCallback(std::atomic<std::thread::id>& t) : thread(t) { thread = std::this_thread::get_id(); }
      ~InCallback() { thread = std::thread::id(); }
    } in_callback(callback_thread_);
    if (params.callback(&event, params.user_data) != 0) impl_->generation->stop();
  }
  const auto& tokens = impl_->generation->tokens();
  const auto& reasons = impl_->generation->stop_reasons();
  const auto stride = static_cast<std::size_t>(params.max_new_tokens);
  for (std::size_t row = 0; result && row < tokens.size(); ++row) {
    if (result->ids) std::memcpy(result->ids + row * stride, tokens[row].data(), tokens[row].size() * sizeof(int32_t));
    if (result->counts) result->counts[row] = static_cast<int32_t>(tokens[row].size());
    if (result->stop_reasons) result->stop_reasons[row] = reasons[row];
  }
}

std::vector<float> Context::score(const HostPrompts& prompts, const HostPrompts& continuations) {
  return translated([&] {
    const auto held = lock();
    impl_->model->prepare_call();
    HostPrompts targets = continuations;  // a continuation takes its prompt's adapter: its own are ignored
    targets.adapters.clear();
    return generation::score_continuations(*impl_->session, to_prompts(*impl_->model, prompts),
                                           to_prompts(*impl_->model, targets));
  });
}

void Context::prefill(const HostPrompts& host, float* out, std::size_t out_count) {
  translated([&] {
    const auto held = lock();
    check_out(static_cast<std::size_t>(host.count) * static_cast<std::size_t>(vocab_size()), out_count, "logits");
    impl_->generation.reset();
    impl_->has_event = false;
    impl_->model->prepare_call();
    copy_out(impl_->session->prefill(to_prompts(*impl_->model, host), 0), out);
  });
}

void Context::decode(const int32_t* ids, std::size_t count, float* out, std::size_t out_count) {
  translated([&] {
    const auto held = lock();
    if (impl_->generation)
      fail(ErrorKind::InvalidArgument, "a generation is using the cache: reset the context or prefill first");
    check_out(count * static_cast<std::size_t>(vocab_size()), out_count, "logits");
    generation::check_ids(ids, count, vocab_size(), "ids");
    impl_->model->prepare_call();
    // The session checks the count against the latest prefill's rows.
    at::Tensor tokens = at::from_blob(const_cast<int32_t*>(ids), {static_cast<int64_t>(count)}, at::kInt).to(at::kLong);
    copy_out(impl_->session->decode(tokens), out);
  });
}

void Context::reset() {
  const auto held = lock();
  impl_->generation.reset();
  impl_->has_event = false;
  impl_->session->reset();
}

void process_logits(const sp_generate_params& params, const int32_t* history, std::size_t history_count, float* logits,
                    std::size_t vocab_size) {
  translated([&] {
    if (vocab_size == 0) fail(ErrorKind::InvalidArgument, "vocab_size must be > 0");
    apply_num_threads();
    const generation::SamplingSettings settings = generation::sampling_settings(params);
    c10::InferenceMode guard;
    const auto vocab = static_cast<int64_t>(vocab_size);
    generation::check_ids(history, history_count, vocab, "history");
    const at::Tensor seen = generation::token_presence({std::vector<int32_t>(history, history + history_count)}, vocab);
    at::Tensor row = at::from_blob(logits, {1, vocab}, at::kFloat);
    at::Tensor processed = generation::process_logits(settings, row.clone(), seen);
    std::memcpy(logits, processed.contiguous().data_ptr<float>(), vocab_size * sizeof(float));
  });
}

}  // namespace sp::engine
