// The core's outward face: models, adapters and trainers over plain host arrays and the public
// header's parameter structs, with no LibTorch type in sight, so that the C ABI (and anything else)
// uses the core without compiling against LibTorch. Every function throws sp::Error on failure -
// LibTorch's own errors are translated here (Backend, OutOfMemory) - and changes nothing then.
// Callers check only what the ABI itself defines (NULLs, struct sizes, enum values); every rule
// about values is checked by the core.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "softprompt/softprompt.h"
#include "tokenizer/tokenizer.h"

namespace sp::prompting {
class CompiledPrompt;
}

namespace sp::engine {

class Adapter;
class Trainer;

struct ModelInfo {
  std::string model_type;
  int64_t vocab_size, hidden_size, num_layers, num_heads, num_kv_heads, head_dim, max_position_embeddings;
  int64_t type_vocab_size;  // token types; 0 for none
  bool has_lm_head;         // a decoder (logits, losses, generation); false for encoders
  // Encoder-decoder models (t5): batches have a decoder side; the decoder's layers and first token.
  bool is_encoder_decoder = false;
  int64_t num_decoder_layers = 0, decoder_start_token_id = -1;
};

// A batch in caller memory (row-major int32, see softprompt.h). Must already be validated.
struct HostBatch {
  const int32_t* input_ids = nullptr;
  const int32_t* attention_mask = nullptr;  // nullptr = no padding
  const int32_t* labels = nullptr;          // nullptr = derived from ids and mask
  const int32_t* task_ids = nullptr;        // batch_size task ids (multitask prompt tuning), or nullptr
  const int32_t* token_type_ids = nullptr;  // segments, or nullptr (all 0)
  const int32_t* row_labels = nullptr;      // batch_size classes (SEQ_CLS), or nullptr
  // Encoder-decoder models: labels are batch_size * decoder_seq_len targets; the decoder's inputs
  // (nullptr = the labels shifted right).
  const int32_t* decoder_input_ids = nullptr;
  int64_t batch_size = 0;
  int64_t seq_len = 0;
  int64_t decoder_seq_len = 0;  // 0 = no decoder side
  // Mixed-adapter batches (Model calls only): batch_size entries, null = no soft prompt for that
  // row; empty = none in any row. Task ids were checked against each row's adapter.
  std::vector<std::shared_ptr<const Adapter>> row_adapters;
  // Positions per row of per-position outputs (logits): the decoder's where there is one.
  int64_t output_len() const { return decoder_seq_len > 0 ? decoder_seq_len : seq_len; }
};

struct Evaluation {
  double mean_loss = 0;
  std::vector<float> row_log_likelihood;
};

// Floats a logits call of `mode` returns: batch_size (* seq_len) * vocab_size. OutOfRange when the
// count does not fit in size_t.
std::size_t logits_count(int64_t batch_size, int64_t seq_len, sp_logits_mode mode, int64_t vocab_size);

int cuda_device_count();

// What a device holds for this process (sp_memory_get_stats): CUDA, LibTorch's allocator (bytes in
// tensors, their peak, bytes reserved); CPU, the process's resident set (current, peak, current).
struct MemoryStats {
  uint64_t current = 0, peak = 0, reserved = 0;
};
// InvalidArgument for an unknown device kind, Device for a CUDA index that does not exist,
// Unsupported where the CPU figures cannot be read (no /proc).
MemoryStats memory_stats(sp_device_kind device, int32_t device_index);
// Starts the peak over from the current figure.
void reset_peak_memory(sp_device_kind device, int32_t device_index);

// The CPU threads LibTorch uses inside one call (intra-op parallelism), a process-wide setting.
// OpenMP keeps this count per calling thread, so the engine applies the setting in the calling
// thread at the start of every call that computes (Model::prepare_call, Model::load and the other
// entry points that run tensors), and it holds for any thread, old or new.
constexpr int kMaxNumThreads = 1024;
// `count` threads from the next computing call on; 0 restores LibTorch's default (its count before
// the first change: OMP_NUM_THREADS when set, else its own choice). InvalidArgument naming the
// value outside [0, kMaxNumThreads]; the setting is unchanged then.
void set_num_threads(int count);
// The count the next computing call uses: the setting, or the default when there is none.
int num_threads();

class Model {
 public:
  // `params` holds valid enum values (the caller checked them); the device must exist.
  static std::shared_ptr<Model> load(const std::string& folder, const sp_model_params& params);
  ~Model();
  const ModelInfo& info() const { return info_; }

  // `out` holds out_count floats; BufferTooSmall when that is less than logits_count. Unsupported
  // for encoders (no output layer over the vocabulary), as evaluate. With the batch's row_adapters
  // (logits, evaluate, hidden_states): each row with its adapter's compiled prompt, in one forward
  // pass; decoder-only models without dynamic RoPE only (Unsupported elsewhere), CAUSAL_LM adapters
  // of this model (InvalidArgument, Unsupported).
  void logits(const HostBatch& batch, sp_logits_mode mode, float* out, std::size_t out_count) const;
  Evaluation evaluate(const HostBatch& batch) const;
  // Final hidden states, batch_size * seq_len * hidden_size floats (BufferTooSmall below that).
  void hidden_states(const HostBatch& batch, float* out, std::size_t out_count) const;
  // The tokenizer of the model's folder (its tokenizer.json, read at load). NotFound when the
  // folder has none; the load's own error (Format, Unsupported...) when it could not be read, so
  // that a model stays usable for ids even when its tokenizer is not.
  std::shared_ptr<const tok::Tokenizer> tokenizer() const;
  // The ids that end generation: generation_config.json's or config.json's eos_token_id (ids outside
  // the vocabulary left out), else the tokenizer's end-of-sequence ids; Format when those files are
  // malformed (the model itself still loads).
  std::vector<int32_t> eos_ids() const;

 private:
  friend class Adapter;
  friend class Trainer;
  friend class Context;
  struct Impl;
  Model();
  // What every engine call that computes runs first: LibTorch's thread count in this thread (the
  // process-wide setting, see set_num_threads) and its float32 precision for this model's CUDA
  // work (nothing on the CPU).
  void prepare_call() const;

  std::unique_ptr<Impl> impl_;
  ModelInfo info_{};
  bool allow_tf32_ = false;
};

struct AdapterInfo {
  sp_method method;
  int64_t num_virtual_tokens;
  int64_t num_tasks;                 // task ids a batch needs per row; 0 = the method takes none
  int64_t num_trainable_parameters;  // float32 values over all trainable tensors
  std::vector<std::string> parameter_names;
  sp_task_type task_type;
  int64_t num_labels;  // SEQ_CLS and TOKEN_CLS; 0 otherwise
};

// A soft prompt on a model. Thread-safe: every call takes the adapter's lock.
class Adapter {
 public:
  // `params` holds valid enum values and consistent pointer/count pairs (the caller checked them).
  static std::shared_ptr<Adapter> create(std::shared_ptr<const Model> model, const sp_adapter_params& params);
  // PEFT folder layout.
  static std::shared_ptr<Adapter> load(std::shared_ptr<const Model> model, const std::string& folder);
  // softprompt's single-file format.
  static std::shared_ptr<Adapter> load_file(std::shared_ptr<const Model> model, const std::string& path);
  ~Adapter();

  void save(const std::string& folder) const;
  void save_file(const std::string& path) const;
  const AdapterInfo& info() const { return info_; }
  const Model& model() const { return *model_; }
  // CAUSAL_LM adapters only (Unsupported otherwise).
  void logits(const HostBatch& batch, sp_logits_mode mode, float* out, std::size_t out_count) const;
  // The task's loss (Unsupported for FEATURE_EXTRACTION; InvalidArgument without the labels it needs).
  Evaluation evaluate(const HostBatch& batch) const;
  // SEQ_CLS: batch_size * num_labels floats, TOKEN_CLS: batch_size * seq_len * num_labels (logits or
  // their softmax); Unsupported for the other tasks, BufferTooSmall for a smaller out_count.
  void classify(const HostBatch& batch, sp_class_output what, float* out, std::size_t out_count) const;
  // Final hidden states at the caller's positions, batch_size * seq_len * hidden_size floats.
  void hidden_states(const HostBatch& batch, float* out, std::size_t out_count) const;
  // Shape and element count of a trainable tensor; NotFound for unknown names.
  std::vector<int64_t> parameter_shape(const std::string& name) const;
  std::size_t parameter_size(const std::string& name) const;
  // `count` must equal parameter_size (InvalidArgument otherwise).
  void copy_parameter(const std::string& name, float* out, std::size_t count) const;
  // Counts changes to the values: 1 after create or load, +1 per trainer step that updated them
  // and per trainer state loaded.
  uint64_t version() const;
  // The current version's compiled prompt (prompting/compiled_prompt.h), computed at the first call
  // that needs it and shared by every later one until the values change. Immutable: a call keeps
  // it to its end whatever happens to the adapter meanwhile.
  std::shared_ptr<const prompting::CompiledPrompt> compiled_prompt() const;

 private:
  friend class Trainer;
  friend class Context;
  struct Impl;
  Adapter();
  static std::shared_ptr<Adapter> wrap(std::shared_ptr<const Model> model, std::unique_ptr<Impl> impl);

  std::shared_ptr<const Model> model_;
  std::unique_ptr<Impl> impl_;
  AdapterInfo info_{};
  mutable std::mutex mutex_;
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
  // InvalidArgument naming the setting for values the trainer cannot use (train/trainer_config.h).
  static std::shared_ptr<Trainer> create(std::shared_ptr<Adapter> adapter, const sp_trainer_params& params);
  ~Trainer();

  TrainStepResult step(const HostBatch& batch);
  const Adapter& adapter() const { return *adapter_; }
  // `count` must equal the tensor's size; NotFound before the first update or for unknown names.
  void copy_gradient(const std::string& name, float* out, std::size_t count) const;

  // Trainer states (train/trainer_state.h): save with the caller's bytes; load checks the whole
  // file against this trainer's adapter, hands the saved bytes to `accept_user_state` (which may
  // throw, e.g. BufferTooSmall: nothing is restored then) and only then swaps the state in.
  void save_state(const std::string& path, const void* user_state, std::size_t user_state_size) const;
  void load_state(const std::string& path, const std::function<void(const std::string&)>& accept_user_state);

 private:
  struct Impl;
  Trainer();

  std::shared_ptr<Adapter> adapter_;
  std::unique_ptr<Impl> impl_;
};

// A JSON description of an adapter folder, an adapter file or a trainer-state file, read without
// a model (adapters/describe.h).
std::string describe_adapter(const std::string& path);

}  // namespace sp::engine
