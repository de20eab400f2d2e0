// The core's outward face: models, adapters and trainers over plain host arrays, with no LibTorch
// type in sight, so that the C ABI (and anything else) can use the core without compiling against
// LibTorch. Every function throws sp::Error (or a LibTorch error) on failure and changes nothing then.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "methods/method_config.h"

namespace sp::engine {

enum class Device { Cpu, Cuda };
enum class DType { Float32, BFloat16, Float16 };

struct ModelOptions {
  Device device = Device::Cpu;
  int device_index = 0;
  DType dtype = DType::Float32;
  bool allow_tf32 = false;  // CUDA float32: let cuBLAS/cuDNN use TF32 (see sp_model_params)
};

struct ModelInfo {
  std::string model_type;
  int64_t vocab_size, hidden_size, num_layers, num_heads, num_kv_heads, head_dim, max_position_embeddings;
};

// A batch in caller memory (row-major int32, see softprompt.h). Must already be validated.
struct HostBatch {
  const int32_t* input_ids = nullptr;
  const int32_t* attention_mask = nullptr;  // nullptr = no padding
  const int32_t* labels = nullptr;          // nullptr = derived from ids and mask
  const int32_t* task_ids = nullptr;        // batch_size task ids (multitask prompt tuning), or nullptr
  int64_t batch_size = 0;
  int64_t seq_len = 0;
};

enum class LogitsMode { Last, All };

struct EvalResult {
  double mean_loss = 0;
  std::vector<float> row_log_likelihood;
};

class Model;
class Adapter;

class Model {
 public:
  static std::shared_ptr<Model> load(const std::string& folder, const ModelOptions& options);
  ~Model();
  const ModelInfo& info() const { return info_; }
  // Sets LibTorch's float32 precision for this model's CUDA work on the calling thread (a no-op on
  // the CPU); every engine call that computes runs it first.
  void use_precision() const;

  void logits(const HostBatch& batch, LogitsMode mode, float* out, std::size_t out_count) const;
  EvalResult evaluate(const HostBatch& batch) const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  Model() = default;
  std::unique_ptr<Impl> impl_;
  ModelInfo info_{};
  bool allow_tf32_ = false;
};

struct AdapterInfo {
  methods::MethodKind kind;
  int64_t num_virtual_tokens;
  int64_t num_tasks;              // 0 unless multitask prompt tuning
  int64_t num_trainable_values;   // total float32 values over all trainable tensors
  std::vector<std::string> parameter_names;
};

// A soft prompt on a model. Thread-safe: every call takes the adapter's lock.
class Adapter {
 public:
  static std::shared_ptr<Adapter> create(std::shared_ptr<const Model> model, const methods::MethodConfig& config);
  // PEFT folder layout.
  static std::shared_ptr<Adapter> load(std::shared_ptr<const Model> model, const std::string& folder);
  // softprompt's single-file format.
  static std::shared_ptr<Adapter> load_file(std::shared_ptr<const Model> model, const std::string& path);
  ~Adapter();

  void save(const std::string& folder) const;
  void save_file(const std::string& path) const;
  const AdapterInfo& info() const { return info_; }
  void logits(const HostBatch& batch, LogitsMode mode, float* out, std::size_t out_count) const;
  EvalResult evaluate(const HostBatch& batch) const;
  // Element count of a trainable tensor; throws NotFound for unknown names.
  std::size_t parameter_size(const std::string& name) const;
  std::vector<int64_t> parameter_shape(const std::string& name) const;
  void copy_parameter(const std::string& name, float* out, std::size_t count) const;
  const Model& model() const { return *model_; }

  struct Impl;
  Impl& impl() const { return *impl_; }
  std::mutex& mutex() const { return mutex_; }

 private:
  Adapter() = default;
  static std::shared_ptr<Adapter> wrap(std::shared_ptr<const Model> model, std::unique_ptr<Impl> impl);
  std::shared_ptr<const Model> model_;
  std::unique_ptr<Impl> impl_;
  AdapterInfo info_{};
  mutable std::mutex mutex_;
};

struct TrainerOptions {
  double learning_rate = 3e-2;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01;
  double max_grad_norm = 0;
  int64_t warmup_steps = 0, total_steps = 0, accumulation_steps = 1;
};

struct TrainStepResult {
  double loss = 0;
  bool updated = false;
  double grad_norm = 0;
  double learning_rate = 0;
  int64_t updates_done = 0;
};

class Trainer {
 public:
  static std::shared_ptr<Trainer> create(std::shared_ptr<Adapter> adapter, const TrainerOptions& options);
  ~Trainer();

  TrainStepResult step(const HostBatch& batch);
  const Adapter& adapter() const { return *adapter_; }
  void copy_gradient(const std::string& name, float* out, std::size_t count) const;

  struct Impl;

 private:
  Trainer() = default;
  std::shared_ptr<Adapter> adapter_;
  std::unique_ptr<Impl> impl_;
};

int cuda_device_count();

// Total element count of an output of `mode` for `batch` on a model with `vocab_size`.
std::size_t logits_count(const HostBatch& batch, LogitsMode mode, int64_t vocab_size);

}  // namespace sp::engine
