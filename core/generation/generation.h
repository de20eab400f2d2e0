// One generation request on a session: prefill at the start, then one step per call for all rows
// (choose each row's token, stream its text, check its stop conditions), handed out as events one
// row at a time. Pull-based, so that a callback loop (the C API's sp_context_generate) and an
// iterator (the bindings) are the same code.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "generation/prompts.h"
#include "generation/sampling.h"
#include "generation/session.h"
#include "generation/text_stream.h"
#include "softprompt/softprompt.h"
#include "tokenizer/tokenizer.h"

namespace sp::generation {

struct GenerationSettings {
  int64_t max_new_tokens = 32;
  SamplingSettings sampling;
  std::vector<int32_t> eos_ids;  // the model's (when asked for) and the caller's
  std::vector<std::string> stop_strings;
  bool skip_special_tokens = true;
};

struct TokenEvent {
  int32_t row = 0;
  int32_t token_id = 0;
  std::string text;
  sp_stop_reason stop_reason = SP_STOP_NONE;
};

class Generation {
 public:
  // Checks the prompts and settings and runs the prefill. `tokenizer` may be null (no text; stop
  // strings are then refused).
  Generation(Session& session, std::shared_ptr<const tok::Tokenizer> tokenizer, const Prompts& prompts,
             GenerationSettings settings);

  // The next event; false when every row has stopped.
  bool next(TokenEvent& event);
  // Ends the rows still running (SP_STOP_CALLBACK); later next() calls return false.
  void stop();

  const std::vector<std::vector<int32_t>>& tokens() const { return tokens_; }
  const std::vector<sp_stop_reason>& stop_reasons() const { return reasons_; }

 private:
  void step();
  sp_stop_reason stop_reason(std::size_t row, int32_t id, std::size_t text_before);

  Session& session_;
  GenerationSettings settings_;
  TokenChooser chooser_;
  std::vector<TextStream> streams_;
  std::vector<std::vector<int32_t>> tokens_;
  std::vector<sp_stop_reason> reasons_;
  std::deque<TokenEvent> pending_;
  at::Tensor logits_;  // the next step's logits when already computed (after the prefill)
  at::Tensor last_tokens_, seen_;
  std::size_t running_ = 0;
};

}  // namespace sp::generation
