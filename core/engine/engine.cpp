#include "engine/engine.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <atomic>
#include <cstring>
#include <limits>
#include <optional>

#include "adapters/describe.h"
#include "adapters/peft_folder.h"
#include "adapters/single_file.h"
#include "engine/impl.h"
#include "engine/translated.h"
#include "methods/factory.h"
#include "model/eos_ids.h"
#include "model/transformer.h"
#include "prompting/evaluate.h"
#include "prompting/logits.h"
#include "prompting/model_inputs.h"
#include "prompting/task_outputs.h"
#include "train/trainer.h"
#include "train/trainer_state.h"
#include "util/errors.h"

namespace sp::engine {

namespace {

at::ScalarType scalar_type(sp_dtype dtype) {
  switch (dtype) {
    case SP_DTYPE_BFLOAT16:
      return at::kBFloat16;
    case SP_DTYPE_FLOAT16:
      return at::kHalf;
    case SP_DTYPE_FLOAT32:
      return at::kFloat;
  }
  fail(ErrorKind::InvalidArgument, std::to_string(static_cast<int>(dtype)) + " is not an sp_dtype");
}

// int32 host array -> int64 CPU tensor (a copy: the caller's memory is only borrowed).
at::Tensor host_tensor(const int32_t* data, int64_t rows, int64_t columns) {
  return at::from_blob(const_cast<int32_t*>(data), {rows, columns}, at::kInt).to(at::kLong);
}

bool all_ones(const int32_t* data, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i)
    if (data[i] != 1) return false;
  return true;
}

prompting::Batch to_batch(const HostBatch& host) {
  prompting::Batch batch;
  batch.input_ids = host_tensor(host.input_ids, host.batch_size, host.seq_len);
  // An all-ones mask is the same as none; leaving it out lets attention use its fused causal path.
  const auto count = static_cast<std::size_t>(host.batch_size * host.seq_len);
  if (host.attention_mask && !all_ones(host.attention_mask, count))
    batch.attention_mask = host_tensor(host.attention_mask, host.batch_size, host.seq_len);
  if (host.labels) batch.labels = host_tensor(host.labels, host.batch_size, host.output_len());
  if (host.decoder_input_ids)
    batch.decoder_input_ids = host_tensor(host.decoder_input_ids, host.batch_size, host.decoder_seq_len);
  if (host.task_ids) batch.task_ids = host_tensor(host.task_ids, 1, host.batch_size).reshape({host.batch_size});
  if (host.token_type_ids) batch.token_type_ids = host_tensor(host.token_type_ids, host.batch_size, host.seq_len);
  if (host.row_labels) batch.row_labels = host_tensor(host.row_labels, 1, host.batch_size).reshape({host.batch_size});
  return batch;
}

// batch_size * positions * per_position floats: OutOfRange when that does not fit in size_t.
std::size_t output_count(int64_t batch_size, int64_t positions, int64_t per_position, const std::string& what) {
  const auto limit = static_cast<unsigned __int128>(std::numeric_limits<std::size_t>::max());
  const auto count = static_cast<unsigned __int128>(batch_size) * static_cast<unsigned __int128>(positions) *
                     static_cast<unsigned __int128>(per_position);
  if (batch_size < 0 || positions < 0 || per_position < 0 || count > limit)
    fail(ErrorKind::OutOfRange, "the " + what + " of " + std::to_string(batch_size) + " x " +
                                    std::to_string(positions) + " positions do not fit in memory");
  return static_cast<std::size_t>(count);
}

// An output of `per_position` floats per caller position (`positions` per row): BufferTooSmall when
// out_count holds fewer.
void check_output_buffer(const HostBatch& batch, int64_t positions, int64_t per_position, std::size_t out_count,
                         const char* what) {
  const std::size_t needed = output_count(batch.batch_size, positions, per_position, what);
  if (out_count < needed)
    fail(ErrorKind::BufferTooSmall,
         "out holds " + std::to_string(out_count) + " floats but the " + what + " need " + std::to_string(needed));
}

// Logits and causal-LM losses need a decoder, and an adapter trained for that.
void require_language_model(const model::Transformer& model, const methods::SoftPromptMethod* method,
                            const char* what) {
  // The adapter's task first: it names the call that does apply.
  const sp_task_type task = method ? method->task().type : SP_TASK_CAUSAL_LM;
  if (task != SP_TASK_CAUSAL_LM && task != SP_TASK_SEQ_2_SEQ_LM)
    fail(ErrorKind::Unsupported, std::string(what) + " are a CAUSAL_LM adapter's; this adapter's task is " +
                                     objectives::task_name(method->task().type) +
                                     (method->task().classifies() ? " (sp_adapter_classify)" : " (hidden states)"));
  if (!model.has_lm_head())
    fail(ErrorKind::Unsupported, std::string(what) + " need a decoder's output layer over the vocabulary; " +
                                     model.config().model_type + " is an encoder (hidden states and classification)");
}

void hidden_states_of(const model::Transformer& model, const methods::SoftPromptMethod* method, const HostBatch& batch,
                      float* out, std::size_t out_count) {
  if (method && method->task().type == SP_TASK_SEQ_2_SEQ_LM)
    fail(ErrorKind::Unsupported,
         "hidden states are not offered for SEQ_2_SEQ_LM adapters (use logits or losses); "
         "the base model gives its encoder's");
  check_output_buffer(batch, batch.seq_len, model.config().hidden_size, out_count, "hidden states");
  c10::InferenceMode guard;
  prompting::ModelInputs inputs(model, method, to_batch(batch));
  copy_out(prompting::caller_hidden(inputs, model.forward(inputs.forward_inputs())), out);
}

void check_logits_buffer(const HostBatch& batch, sp_logits_mode mode, int64_t vocab_size, std::size_t out_count) {
  check_output_buffer(batch, mode == SP_LOGITS_ALL ? batch.output_len() : 1, vocab_size, out_count, "logits");
}

at::Tensor logits_of(const model::Transformer& model, const methods::SoftPromptMethod* method, const HostBatch& batch,
                     sp_logits_mode mode) {
  require_language_model(model, method, "logits");
  const auto selection =
      mode == SP_LOGITS_ALL ? prompting::LogitsSelection::AllTokens : prompting::LogitsSelection::LastToken;
  return prompting::compute_logits(model, method, to_batch(batch), selection);
}

Evaluation to_evaluation(const prompting::Evaluation& evaluation) {
  Evaluation result;
  result.mean_loss = evaluation.mean_loss;
  at::Tensor rows = evaluation.row_log_likelihood.contiguous();
  result.row_log_likelihood.assign(rows.data_ptr<float>(), rows.data_ptr<float>() + rows.numel());
  return result;
}

Evaluation evaluation_of(const model::Transformer& model, const methods::SoftPromptMethod* method,
                         const HostBatch& batch) {
  if (!method || method->task().type == SP_TASK_CAUSAL_LM) require_language_model(model, method, "causal-LM losses");
  return to_evaluation(prompting::evaluate(model, method, to_batch(batch)));
}

// Each row's compiled prompt of a mixed-adapter batch, held for the call. The model must let
// prompts' keys be reused across rows (decoder-only, no dynamic RoPE); CAUSAL_LM adapters only.
struct MixedRows {
  std::vector<std::shared_ptr<const prompting::CompiledPrompt>> held;
  prompting::RowPrompts rows;
};

MixedRows mixed_rows(const Model& model, const model::Transformer& transformer, const HostBatch& host,
                     const prompting::Batch& batch) {
  if (!prompting::reusable_prompt_keys(transformer))
    fail(ErrorKind::Unsupported,
         "mixed-adapter batches (row_adapters) run on decoder-only models without dynamic "
         "RoPE; " +
             transformer.config().model_type + " takes one call per adapter (sp_adapter_logits, sp_adapter_eval_loss)");
  MixedRows mixed;
  mixed.held = compiled_prompts_of(model, host.row_adapters, "row_adapters");
  // compiled_prompts_of admits only language-model adapters, and on a decoder-only model those are CAUSAL_LM.
  for (const auto& prompt : mixed.held) mixed.rows.of_row.push_back(prompt.get());
  if (batch.task_ids.defined()) mixed.rows.task_ids = batch.task_ids.to(transformer.device());
  return mixed;
}

const at::Tensor& named(const methods::NamedTensors& tensors, const std::string& name, const char* what) {
  for (const auto& entry : tensors)
    if (entry.first == name) return entry.second;
  std::string known;
  for (const auto& entry : tensors) known += (known.empty() ? "" : ", ") + entry.first;
  fail(ErrorKind::NotFound,
       std::string("no ") + what + " named '" + name + "'" + (known.empty() ? "" : " (known: " + known + ")"));
}

void copy_exact(const at::Tensor& tensor, const std::string& name, float* out, std::size_t count) {
  if (static_cast<std::size_t>(tensor.numel()) != count)
    fail(ErrorKind::InvalidArgument,
         "'" + name + "' has " + std::to_string(tensor.numel()) + " values but count is " + std::to_string(count));
  copy_out(tensor.detach(), out);
}

// The thread count every computing call applies; 0 until a setting is made (LibTorch's per-thread
// state is left alone until then).
std::atomic<int> requested_num_threads{0};

// LibTorch's count before softprompt changed it, captured at the first set_num_threads or
// num_threads (a set_num_threads captures it before it stores anything).
int default_num_threads() {
  static const int captured = at::get_num_threads();
  return captured;
}

}  // namespace

std::vector<std::shared_ptr<const prompting::CompiledPrompt>> compiled_prompts_of(
    const Model& model, const std::vector<std::shared_ptr<const Adapter>>& adapters, const std::string& what) {
  std::vector<std::shared_ptr<const prompting::CompiledPrompt>> prompts(adapters.size());
  for (std::size_t row = 0; row < adapters.size(); ++row) {
    const Adapter* adapter = adapters[row].get();
    if (!adapter) continue;
    std::size_t seen = 0;  // an adapter named by an earlier row: its prompt again
    while (seen < row && adapters[seen].get() != adapter) ++seen;
    if (seen < row) {
      prompts[row] = prompts[seen];
      continue;
    }
    const std::string name = what + "[" + std::to_string(row) + "]";
    if (&adapter->model() != &model) fail(ErrorKind::InvalidArgument, name + " belongs to another model");
    const sp_task_type task = adapter->info().task_type;
    if (task != SP_TASK_CAUSAL_LM && task != SP_TASK_SEQ_2_SEQ_LM)
      fail(ErrorKind::Unsupported, name + "'s task is " + objectives::task_name(task) +
                                       "; rows of a call name CAUSAL_LM or SEQ_2_SEQ_LM adapters");
    prompts[row] = adapter->compiled_prompt();
  }
  return prompts;
}

std::size_t logits_count(int64_t batch_size, int64_t seq_len, sp_logits_mode mode, int64_t vocab_size) {
  if (seq_len < 0) fail(ErrorKind::OutOfRange, "seq_len " + std::to_string(seq_len) + " is negative");
  return output_count(batch_size, mode == SP_LOGITS_ALL ? seq_len : 1, vocab_size,
                      "logits over " + std::to_string(vocab_size) + " tokens");
}

int cuda_device_count() {
  return translated([] { return at::hasCUDA() ? static_cast<int>(at::getNumGPUs()) : 0; });
}

void set_num_threads(int count) {
  if (count < 0 || count > kMaxNumThreads)
    fail(ErrorKind::InvalidArgument, "num_threads must be in [0, " + std::to_string(kMaxNumThreads) +
                                         "] (0 restores LibTorch's default), got " + std::to_string(count));
  translated([&] { requested_num_threads.store(count == 0 ? default_num_threads() : count); });
}

int num_threads() {
  return translated([] {
    const int requested = requested_num_threads.load();
    return requested > 0 ? requested : default_num_threads();
  });
}

void apply_num_threads() {
  // OpenMP's count belongs to the thread: comparing first keeps the common case to one query.
  const int requested = requested_num_threads.load(std::memory_order_relaxed);
  if (requested > 0 && at::get_num_threads() != requested) at::set_num_threads(requested);
}

// --- Model

Model::Model() = default;
Model::~Model() = default;

std::shared_ptr<Model> Model::load(const std::string& folder, const sp_model_params& params) {
  return translated([&] {
    apply_num_threads();  // converting and checking the weights runs tensors too
    at::Device device = at::kCPU;
    if (params.device == SP_DEVICE_CUDA) {
      const int count = cuda_device_count();
      if (params.device_index < 0 || params.device_index >= count)
        fail(ErrorKind::Device,
             "CUDA device " + std::to_string(params.device_index) + " requested, but " +
                 (count == 0 ? std::string("no CUDA device is available") : std::to_string(count) + " are available"));
      device = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(params.device_index));
    }
    std::shared_ptr<Model> model(new Model());
    model->impl_ = std::make_unique<Impl>();
    model->impl_->transformer = model::Transformer::load(folder, device, scalar_type(params.dtype));
    const model::ModelConfig& c = model->impl_->transformer->config();
    model->info_ = {c.model_type,
                    c.vocab_size,
                    c.hidden_size,
                    c.num_layers,
                    c.num_heads,
                    c.num_kv_heads,
                    c.head_dim,
                    c.max_position_embeddings,
                    c.type_vocab_size,
                    model->impl_->transformer->has_lm_head(),
                    c.topology == model::Topology::EncoderDecoder,
                    c.num_decoder_layers,
                    c.decoder_start_token_id};
    model->allow_tf32_ = params.allow_tf32 != 0;
    try {
      model->impl_->tokenizer = tok::Tokenizer::load(folder);
    } catch (const Error& error) {
      model->impl_->tokenizer_error = error;
    }
    try {
      model->impl_->eos_ids = model::read_eos_ids(folder, c.vocab_size);
    } catch (const Error& error) {
      model->impl_->eos_error = error;
    }
    return model;
  });
}

std::shared_ptr<const tok::Tokenizer> Model::tokenizer() const {
  if (impl_->tokenizer_error) throw *impl_->tokenizer_error;
  return impl_->tokenizer;
}

std::vector<int32_t> Model::eos_ids() const {
  if (impl_->eos_error) throw *impl_->eos_error;
  if (!impl_->eos_ids.empty() || !impl_->tokenizer) return impl_->eos_ids;
  std::vector<int32_t> ids;
  for (int32_t id : impl_->tokenizer->special_ids().eos_ids)
    if (id < info_.vocab_size) ids.push_back(id);
  return ids;
}

void Model::prepare_call() const {
  apply_num_threads();
  if (!impl_->transformer->device().is_cuda()) return;
  // LibTorch lets cuDNN (the LSTM) use TF32 unless told otherwise; a float32 model must compute in
  // float32. The switches are process-wide and anything else in the process may flip them, so they
  // are set from the model at every call (cheap), under a lock. The legacy setters are used for
  // both libraries: mixing them with the newer per-operator precision API makes LibTorch refuse
  // later calls ("mix of the legacy and new APIs").
  static std::mutex precision_mutex;
  std::lock_guard<std::mutex> lock(precision_mutex);
  at::globalContext().setAllowTF32CuBLAS(allow_tf32_);
  at::globalContext().setAllowTF32CuDNN(allow_tf32_);
}

void Model::logits(const HostBatch& batch, sp_logits_mode mode, float* out, std::size_t out_count) const {
  translated([&] {
    check_logits_buffer(batch, mode, info_.vocab_size, out_count);
    prepare_call();
    if (batch.row_adapters.empty()) return copy_out(logits_of(*impl_->transformer, nullptr, batch, mode), out);
    const model::Transformer& model = *impl_->transformer;
    require_language_model(model, nullptr, "logits");
    const prompting::Batch tensors = to_batch(batch);
    const MixedRows mixed = mixed_rows(*this, model, batch, tensors);
    const auto selection =
        mode == SP_LOGITS_ALL ? prompting::LogitsSelection::AllTokens : prompting::LogitsSelection::LastToken;
    copy_out(prompting::compute_logits(model, mixed.rows, tensors, selection), out);
  });
}

Evaluation Model::evaluate(const HostBatch& batch) const {
  return translated([&] {
    prepare_call();
    if (batch.row_adapters.empty()) return evaluation_of(*impl_->transformer, nullptr, batch);
    const model::Transformer& model = *impl_->transformer;
    require_language_model(model, nullptr, "causal-LM losses");
    const prompting::Batch tensors = to_batch(batch);
    const MixedRows mixed = mixed_rows(*this, model, batch, tensors);
    return to_evaluation(prompting::evaluate(model, mixed.rows, tensors));
  });
}

void Model::hidden_states(const HostBatch& batch, float* out, std::size_t out_count) const {
  translated([&] {
    prepare_call();
    if (batch.row_adapters.empty()) return hidden_states_of(*impl_->transformer, nullptr, batch, out, out_count);
    const model::Transformer& model = *impl_->transformer;
    check_output_buffer(batch, batch.seq_len, model.config().hidden_size, out_count, "hidden states");
    const prompting::Batch tensors = to_batch(batch);
    const MixedRows mixed = mixed_rows(*this, model, batch, tensors);
    c10::InferenceMode guard;
    const prompting::ModelInputs inputs(model, mixed.rows, tensors, prompting::PositionRule::Column);
    copy_out(prompting::caller_hidden(inputs, model.forward(inputs.forward_inputs())), out);
  });
}

// --- Adapter

Adapter::Adapter() = default;
Adapter::~Adapter() = default;

std::shared_ptr<Adapter> Adapter::wrap(std::shared_ptr<const Model> model, std::unique_ptr<Impl> impl) {
  std::shared_ptr<Adapter> adapter(new Adapter());
  const methods::SoftPromptMethod& method = *impl->method;
  adapter->info_.method = method.method();
  adapter->info_.num_virtual_tokens = method.num_virtual_tokens();
  adapter->info_.num_tasks = method.num_tasks();
  adapter->info_.task_type = method.task().type;
  adapter->info_.num_labels = method.task().num_labels;
  adapter->info_.num_trainable_parameters = 0;
  for (const auto& [name, tensor] : method.parameters()) {
    adapter->info_.parameter_names.push_back(name);
    adapter->info_.num_trainable_parameters += tensor.numel();
  }
  adapter->impl_ = std::move(impl);
  adapter->model_ = std::move(model);
  return adapter;
}

std::shared_ptr<Adapter> Adapter::create(std::shared_ptr<const Model> model, const sp_adapter_params& params) {
  return translated([&] {
    apply_num_threads();
    const model::Transformer& transformer = *model->impl_->transformer;
    auto impl = std::make_unique<Impl>();
    const methods::ParamsContext context{transformer.config(), [&model] { return model->tokenizer(); }};
    impl->method = methods::create_method(methods::config_from_params(params, context), transformer);
    return wrap(std::move(model), std::move(impl));
  });
}

std::shared_ptr<Adapter> Adapter::load(std::shared_ptr<const Model> model, const std::string& folder) {
  return translated([&] {
    apply_num_threads();
    auto impl = std::make_unique<Impl>();
    impl->method = adapters::load_peft_folder(folder, *model->impl_->transformer);
    return wrap(std::move(model), std::move(impl));
  });
}

std::shared_ptr<Adapter> Adapter::load_file(std::shared_ptr<const Model> model, const std::string& path) {
  return translated([&] {
    apply_num_threads();
    auto impl = std::make_unique<Impl>();
    impl->method = adapters::load_single_file(path, *model->impl_->transformer);
    return wrap(std::move(model), std::move(impl));
  });
}

void Adapter::save(const std::string& folder) const {
  translated([&] {
    std::lock_guard<std::mutex> lock(mutex_);
    model_->prepare_call();  // P-tuning and projected prefixes run their encoder to save
    adapters::save_peft_folder(folder, *impl_->method, *model_->impl_->transformer);
  });
}

void Adapter::save_file(const std::string& path) const {
  translated([&] {
    std::lock_guard<std::mutex> lock(mutex_);
    model_->prepare_call();
    adapters::save_single_file(path, *impl_->method, *model_->impl_->transformer);
  });
}

void Adapter::logits(const HostBatch& batch, sp_logits_mode mode, float* out, std::size_t out_count) const {
  translated([&] {
    check_logits_buffer(batch, mode, model_->info().vocab_size, out_count);
    std::lock_guard<std::mutex> lock(mutex_);
    model_->prepare_call();
    copy_out(logits_of(*model_->impl_->transformer, impl_->method.get(), batch, mode), out);
  });
}

Evaluation Adapter::evaluate(const HostBatch& batch) const {
  return translated([&] {
    std::lock_guard<std::mutex> lock(mutex_);
    model_->prepare_call();
    return evaluation_of(*model_->impl_->transformer, impl_->method.get(), batch);
  });
}

void Adapter::classify(const HostBatch& batch, sp_class_output what, float* out, std::size_t out_count) const {
  translated([&] {
    const objectives::TaskConfig& task = impl_->method->task();
    if (!task.classifies())
      fail(ErrorKind::Unsupported, std::string("class scores are a SEQ_CLS or TOKEN_CLS adapter's; this adapter's "
                                               "task is ") +
                                       objectives::task_name(task.type));
    check_output_buffer(batch, task.type == SP_TASK_TOKEN_CLS ? batch.seq_len : 1, task.num_labels, out_count,
                        "class scores");
    std::lock_guard<std::mutex> lock(mutex_);
    model_->prepare_call();
    c10::InferenceMode guard;
    const model::Transformer& model = *model_->impl_->transformer;
    prompting::ModelInputs inputs(model, impl_->method.get(), to_batch(batch));
    at::Tensor logits =
        prompting::class_logits(model, task, *impl_->method->head(), inputs, model.forward(inputs.forward_inputs()));
    copy_out(what == SP_CLASS_PROBABILITIES ? logits.to(at::kFloat).softmax(-1) : logits, out);
  });
}

void Adapter::hidden_states(const HostBatch& batch, float* out, std::size_t out_count) const {
  translated([&] {
    std::lock_guard<std::mutex> lock(mutex_);
    model_->prepare_call();
    hidden_states_of(*model_->impl_->transformer, impl_->method.get(), batch, out, out_count);
  });
}

std::vector<int64_t> Adapter::parameter_shape(const std::string& name) const {
  return translated([&] {
    std::lock_guard<std::mutex> lock(mutex_);
    const at::IntArrayRef sizes = named(impl_->method->parameters(), name, "trainable tensor").sizes();
    return std::vector<int64_t>(sizes.begin(), sizes.end());
  });
}

std::size_t Adapter::parameter_size(const std::string& name) const {
  return translated([&] {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<std::size_t>(named(impl_->method->parameters(), name, "trainable tensor").numel());
  });
}

uint64_t Adapter::version() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return impl_->version;
}

std::shared_ptr<const prompting::CompiledPrompt> Adapter::compiled_prompt() const {
  return translated([&] {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!impl_->compiled || impl_->compiled_version != impl_->version) {
      model_->prepare_call();
      const model::Transformer& transformer = *model_->impl_->transformer;
      impl_->compiled = prompting::CompiledPrompt::compile(
          transformer, std::make_shared<prompting::PromptSnapshot>(prompting::PromptSnapshot::take(*impl_->method)));
      impl_->compiled_version = impl_->version;
    }
    return impl_->compiled;
  });
}

void Adapter::copy_parameter(const std::string& name, float* out, std::size_t count) const {
  translated([&] {
    std::lock_guard<std::mutex> lock(mutex_);
    copy_exact(named(impl_->method->parameters(), name, "trainable tensor"), name, out, count);
  });
}

// --- Trainer

Trainer::Trainer() = default;
Trainer::~Trainer() = default;

std::shared_ptr<Trainer> Trainer::create(std::shared_ptr<Adapter> adapter, const sp_trainer_params& params) {
  return translated([&] {
    if (adapter->info().task_type == SP_TASK_FEATURE_EXTRACTION)
      fail(ErrorKind::Unsupported,
           "a FEATURE_EXTRACTION adapter has no loss to train (PEFT defines none); create it "
           "as SEQ_CLS, TOKEN_CLS or CAUSAL_LM to train it");
    train::TrainerConfig config;
    config.schedule.base_lr = params.learning_rate;
    config.schedule.warmup_steps = params.warmup_steps;
    config.schedule.total_steps = params.total_steps;
    config.adamw = {params.beta1, params.beta2, params.eps, params.weight_decay};
    config.max_grad_norm = params.max_grad_norm;
    config.accumulation_steps = params.accumulation_steps;
    std::shared_ptr<Trainer> trainer(new Trainer());
    trainer->impl_ = std::make_unique<Impl>();
    {
      std::lock_guard<std::mutex> lock(adapter->mutex_);
      trainer->impl_->trainer =
          std::make_unique<train::Trainer>(adapter->model_->impl_->transformer, *adapter->impl_->method, config);
    }
    trainer->adapter_ = std::move(adapter);
    return trainer;
  });
}

TrainStepResult Trainer::step(const HostBatch& batch) {
  return translated([&] {
    std::lock_guard<std::mutex> lock(adapter_->mutex_);
    adapter_->model_->prepare_call();
    const train::StepResult step = impl_->trainer->step(to_batch(batch));
    if (step.updated) ++adapter_->impl_->version;  // calls compile the new values from now on
    return TrainStepResult{step.loss, step.updated, step.grad_norm, step.learning_rate, step.updates_done};
  });
}

void Trainer::copy_gradient(const std::string& name, float* out, std::size_t count) const {
  translated([&] {
    std::lock_guard<std::mutex> lock(adapter_->mutex_);
    if (impl_->trainer->last_gradients().empty()) fail(ErrorKind::NotFound, "no optimizer update has happened yet");
    copy_exact(named(impl_->trainer->last_gradients(), name, "gradient"), name, out, count);
  });
}

void Trainer::save_state(const std::string& path, const void* user_state, std::size_t user_state_size) const {
  translated([&] {
    std::lock_guard<std::mutex> lock(adapter_->mutex_);
    train::save_trainer_state(path, *impl_->trainer, *adapter_->impl_->method, *adapter_->model_->impl_->transformer,
                              user_state, user_state_size);
  });
}

void Trainer::load_state(const std::string& path, const std::function<void(const std::string&)>& accept_user_state) {
  translated([&] {
    std::lock_guard<std::mutex> lock(adapter_->mutex_);
    const std::shared_ptr<const model::Transformer>& transformer = adapter_->model_->impl_->transformer;
    methods::SoftPromptMethod& method = *adapter_->impl_->method;
    train::LoadedTrainerState state = train::read_trainer_state(path, method, *transformer);
    accept_user_state(state.user_state);
    impl_->trainer = train::resume_trainer(std::move(state), transformer, method);
    ++adapter_->impl_->version;
  });
}

std::string describe_adapter(const std::string& path) {
  return translated([&] { return adapters::describe(path); });
}

}  // namespace sp::engine
