// The engine's face for contexts (sp_context): generation and scoring on a model with an optional
// adapter snapshot, over host arrays and the public parameter structs; no LibTorch type in sight.
// Every function throws sp::Error and changes nothing on failure (a failed generate_begin ends any
// generation in progress). Calls on one context are serialised by its lock.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "softprompt/softprompt.h"

namespace sp::engine {

// Prompts in caller memory, as sp_prompts (the C layer checked the pointer/count pairs).
struct HostPrompts {
  int32_t count = 0;
  const int32_t* ids = nullptr;
  const int32_t* lengths = nullptr;
  const int32_t* task_ids = nullptr;  // count ids, or nullptr
  // Each prompt's adapter (null: the base model) instead of the context's; empty: the context's.
  std::vector<std::shared_ptr<const Adapter>> adapters;
};

class Context {
 public:
  // `adapter` may be null; it must belong to `model`.
  static std::shared_ptr<Context> create(std::shared_ptr<const Model> model, std::shared_ptr<const Adapter> adapter,
                                         const sp_context_params& params);
  ~Context();

  // One call, holding the context throughout: streams to params.callback, writes *result (may be
  // null; its arrays were checked for size by the caller against max_new_tokens and the prompt
  // count). A callback that calls into the same context gets InvalidArgument.
  void generate(const HostPrompts& prompts, const sp_generate_params& params, sp_generation* result);
  void generate_begin(const HostPrompts& prompts, const sp_generate_params& params);
  // False when every row has stopped. The event's text points into the context until the next call.
  bool generate_next(sp_token_event& event);
  void generate_stop();
  // The text of the latest event; InvalidArgument when there is none.
  std::string event_text() const;
  std::vector<float> score(const HostPrompts& prompts, const HostPrompts& continuations);
  // `out` holds out_count floats; BufferTooSmall when that is less than rows * vocab_size.
  void prefill(const HostPrompts& prompts, float* out, std::size_t out_count);
  void decode(const int32_t* ids, std::size_t count, float* out, std::size_t out_count);
  void reset();
  int64_t vocab_size() const;

 private:
  struct Impl;
  Context();
  void begin_locked(const HostPrompts& prompts, const sp_generate_params& params);
  bool next_locked(sp_token_event& event);
  // Takes the context's lock, refusing a call from inside its own callback (which would deadlock).
  std::unique_lock<std::mutex> lock() const;

  std::unique_ptr<Impl> impl_;
  mutable std::mutex mutex_;
  std::atomic<std::thread::id> callback_thread_{};  // the thread running a callback, while it does
};

// sp_logits_process: the processors of `params` on one row of logits, in place.
void process_logits(const sp_generate_params& params, const int32_t* history, std::size_t history_count, float* logits,
                    std::size_t vocab_size);

}  // namespace sp::engine
