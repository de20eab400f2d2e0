#include "engine/engine.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>

#include <cstring>

#include "adapters/peft_folder.h"
#include "adapters/single_file.h"
#include "methods/factory.h"
#include "model/transformer.h"
#include "prompting/forward.h"
#include "train/trainer.h"
#include "util/errors.h"

namespace sp::engine {

struct Model::Impl {
  std::shared_ptr<const model::Transformer> transformer;
};

struct Adapter::Impl {
  std::unique_ptr<methods::SoftPromptMethod> method;
};

struct Trainer::Impl {
  std::unique_ptr<train::Trainer> trainer;
};

namespace {

at::ScalarType scalar_type(DType dtype) {
  switch (dtype) {
    case DType::BFloat16: return at::kBFloat16;
    case DType::Float16: return at::kHalf;
    default: return at::kFloat;
  }
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
  if (host.labels) batch.labels = host_tensor(host.labels, host.batch_size, host.seq_len);
  if (host.task_ids) batch.task_ids = host_tensor(host.task_ids, 1, host.batch_size).reshape({host.batch_size});
  return batch;
}

void copy_out(const at::Tensor& tensor, float* out, std::size_t out_count) {
  at::Tensor host = tensor.to(at::kCPU, at::kFloat).contiguous();
  if (static_cast<std::size_t>(host.numel()) > out_count)
    fail(ErrorKind::InvalidArgument, "output buffer holds " + std::to_string(out_count) + " floats but the result has " +
                                         std::to_string(host.numel()));
  std::memcpy(out, host.data_ptr<float>(), static_cast<std::size_t>(host.numel()) * sizeof(float));
}

EvalResult to_result(const prompting::Evaluation& evaluation) {
  EvalResult result;
  result.mean_loss = evaluation.mean_loss;
  at::Tensor rows = evaluation.row_log_likelihood.contiguous();
  result.row_log_likelihood.assign(rows.data_ptr<float>(), rows.data_ptr<float>() + rows.numel());
  return result;
}

const at::Tensor& named(const methods::NamedTensors& tensors, const std::string& name, const char* what) {
  for (const auto& entry : tensors)
    if (entry.first == name) return entry.second;
  std::string known;
  for (const auto& entry : tensors) known += (known.empty() ? "" : ", ") + entry.first;
  fail(ErrorKind::NotFound, std::string("no ") + what + " named '" + name + "'" + (known.empty() ? "" : " (known: " + known + ")"));
}

void copy_exact(const at::Tensor& tensor, const std::string& name, float* out, std::size_t count) {
  if (static_cast<std::size_t>(tensor.numel()) != count)
    fail(ErrorKind::InvalidArgument, "'" + name + "' has " + std::to_string(tensor.numel()) + " values but count is " +
                                         std::to_string(count));
  copy_out(tensor.detach(), out, count);
}

}  // namespace

std::size_t logits_count(const HostBatch& batch, LogitsMode mode, int64_t vocab_size) {
  const auto rows = static_cast<std::size_t>(batch.batch_size);
  const auto per_row = static_cast<std::size_t>(vocab_size) * (mode == LogitsMode::All ? static_cast<std::size_t>(batch.seq_len) : 1);
  return rows * per_row;
}

int cuda_device_count() { return at::hasCUDA() ? static_cast<int>(at::getNumGPUs()) : 0; }

// --- Model

std::shared_ptr<Model> Model::load(const std::string& folder, const ModelOptions& options) {
  at::Device device = at::kCPU;
  if (options.device == Device::Cuda) {
    const int count = cuda_device_count();
    if (options.device_index < 0 || options.device_index >= count)
      fail(ErrorKind::Device, "CUDA device " + std::to_string(options.device_index) + " requested, but " +
                                  (count == 0 ? std::string("no CUDA device is available") : std::to_string(count) + " are available"));
    device = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(options.device_index));
  }
  std::shared_ptr<Model> model(new Model());
  model->impl_ = std::make_unique<Impl>();
  model->impl_->transformer = model::Transformer::load(folder, device, scalar_type(options.dtype));
  const model::ModelConfig& c = model->impl_->transformer->config();
  model->info_ = {c.model_type, c.vocab_size, c.hidden_size, c.num_layers, c.num_heads, c.num_kv_heads, c.head_dim,
                  c.max_position_embeddings};
  model->allow_tf32_ = options.allow_tf32;
  return model;
}

void Model::use_precision() const {
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

Model::~Model() = default;

void Model::logits(const HostBatch& batch, LogitsMode mode, float* out, std::size_t out_count) const {
  use_precision();
  auto selection = mode == LogitsMode::All ? prompting::LogitsSelection::AllTokens : prompting::LogitsSelection::LastToken;
  copy_out(prompting::compute_logits(*impl_->transformer, nullptr, to_batch(batch), selection), out, out_count);
}

EvalResult Model::evaluate(const HostBatch& batch) const {
  use_precision();
  return to_result(prompting::evaluate(*impl_->transformer, nullptr, to_batch(batch)));
}

// --- Adapter

std::shared_ptr<Adapter> Adapter::wrap(std::shared_ptr<const Model> model, std::unique_ptr<Impl> impl) {
  std::shared_ptr<Adapter> adapter(new Adapter());
  const methods::SoftPromptMethod& method = *impl->method;
  adapter->info_.kind = method.kind();
  adapter->info_.num_virtual_tokens = method.num_virtual_tokens();
  adapter->info_.num_tasks = method.kind() == methods::MethodKind::MultitaskPromptTuning ? method.config().num_tasks : 0;
  adapter->info_.num_trainable_values = 0;
  for (const auto& [name, tensor] : method.parameters()) {
    adapter->info_.parameter_names.push_back(name);
    adapter->info_.num_trainable_values += tensor.numel();
  }
  adapter->impl_ = std::move(impl);
  adapter->model_ = std::move(model);
  return adapter;
}

std::shared_ptr<Adapter> Adapter::create(std::shared_ptr<const Model> model, const methods::MethodConfig& config) {
  auto impl = std::make_unique<Impl>();
  impl->method = methods::create_method(config, *model->impl().transformer);
  return wrap(std::move(model), std::move(impl));
}

std::shared_ptr<Adapter> Adapter::load(std::shared_ptr<const Model> model, const std::string& folder) {
  auto impl = std::make_unique<Impl>();
  impl->method = adapters::load_peft_folder(folder, *model->impl().transformer);
  return wrap(std::move(model), std::move(impl));
}

std::shared_ptr<Adapter> Adapter::load_file(std::shared_ptr<const Model> model, const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->method = adapters::load_single_file(path, *model->impl().transformer);
  return wrap(std::move(model), std::move(impl));
}

Adapter::~Adapter() = default;

void Adapter::save(const std::string& folder) const {
  std::lock_guard<std::mutex> lock(mutex_);
  model_->use_precision();  // P-tuning and projected prefixes run their encoder to save
  adapters::save_peft_folder(folder, *impl_->method, *model_->impl().transformer);
}

void Adapter::save_file(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mutex_);
  model_->use_precision();
  adapters::save_single_file(path, *impl_->method, *model_->impl().transformer);
}

void Adapter::logits(const HostBatch& batch, LogitsMode mode, float* out, std::size_t out_count) const {
  std::lock_guard<std::mutex> lock(mutex_);
  model_->use_precision();
  auto selection = mode == LogitsMode::All ? prompting::LogitsSelection::AllTokens : prompting::LogitsSelection::LastToken;
  copy_out(prompting::compute_logits(*model_->impl().transformer, impl_->method.get(), to_batch(batch), selection), out,
           out_count);
}

EvalResult Adapter::evaluate(const HostBatch& batch) const {
  std::lock_guard<std::mutex> lock(mutex_);
  model_->use_precision();
  return to_result(prompting::evaluate(*model_->impl().transformer, impl_->method.get(), to_batch(batch)));
}

std::size_t Adapter::parameter_size(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<std::size_t>(named(impl_->method->parameters(), name, "trainable tensor").numel());
}

std::vector<int64_t> Adapter::parameter_shape(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const at::IntArrayRef sizes = named(impl_->method->parameters(), name, "trainable tensor").sizes();
  return {sizes.begin(), sizes.end()};
}

void Adapter::copy_parameter(const std::string& name, float* out, std::size_t count) const {
  std::lock_guard<std::mutex> lock(mutex_);
  copy_exact(named(impl_->method->parameters(), name, "trainable tensor"), name, out, count);
}

// --- Trainer

std::shared_ptr<Trainer> Trainer::create(std::shared_ptr<Adapter> adapter, const TrainerOptions& options) {
  train::TrainerConfig config;
  config.schedule.base_lr = options.learning_rate;
  config.schedule.warmup_steps = options.warmup_steps;
  config.schedule.total_steps = options.total_steps;
  config.adamw = {options.beta1, options.beta2, options.eps, options.weight_decay};
  config.max_grad_norm = options.max_grad_norm;
  config.accumulation_steps = options.accumulation_steps;
  std::shared_ptr<Trainer> trainer(new Trainer());
  trainer->impl_ = std::make_unique<Impl>();
  {
    std::lock_guard<std::mutex> lock(adapter->mutex());
    trainer->impl_->trainer = std::make_unique<train::Trainer>(adapter->model().impl().transformer,
                                                               *adapter->impl().method, config);
  }
  trainer->adapter_ = std::move(adapter);
  return trainer;
}

Trainer::~Trainer() = default;

TrainStepResult Trainer::step(const HostBatch& batch) {
  std::lock_guard<std::mutex> lock(adapter_->mutex());
  adapter_->model().use_precision();
  train::StepResult step = impl_->trainer->step(to_batch(batch));
  return {step.loss, step.updated, step.grad_norm, step.learning_rate, step.updates_done};
}

void Trainer::copy_gradient(const std::string& name, float* out, std::size_t count) const {
  std::lock_guard<std::mutex> lock(adapter_->mutex());
  if (impl_->trainer->last_gradients().empty()) fail(ErrorKind::NotFound, "no optimizer update has happened yet");
  copy_exact(named(impl_->trainer->last_gradients(), name, "gradient"), name, out, count);
}

}  // namespace sp::engine
