// Examples to token ids: each row becomes a context (prompt) part and a target part, the part
// whose tokens the loss counts and scoring measures.
//   prompt/completion, text/label:  prompt = the prompt (special tokens added, e.g. a BOS), target =
//                                   the completion (or label word) as written, encoded alone;
//   text:                           the whole text encoded once; its first token is context, the
//                                   rest target (so the base model and every method score the same
//                                   tokens);
//   with chat:                      prompt = the chat template's rendering of one user message (the
//                                   prompt) with the assistant's opening; target = the completion
//                                   followed by the end-of-turn token (the model's first EOS id).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "jsonl_data.h"
#include "softprompt/softprompt.h"

namespace cli {

struct EncodedRow {
  int line = 0;
  int task = 0;
  std::vector<int32_t> prompt;  // never empty
  std::vector<int32_t> target;  // never empty
};

struct EncodedData {
  std::string path;
  DataFormat format = DataFormat::PromptCompletion;
  std::vector<EncodedRow> rows;
  std::vector<std::string> completions;  // each row's completion text (label words, exact match)
  int truncated_rows = 0;
};

class Encoder {
 public:
  // vocab_size: the model's (ids at or beyond it are refused, naming the line); max_length: the
  // most tokens a row keeps (0 = no limit).
  Encoder(const sp_model* model, const sp_tokenizer* tokenizer, bool chat, int32_t max_length);

  // Text to ids (add_special: the post-processor's special tokens, e.g. LLaMA's BOS).
  std::vector<int32_t> encode(const std::string& text, bool add_special) const;
  // A prompt as generation and scoring see it: the chat template's rendering or the text.
  std::vector<int32_t> prompt_ids(const std::string& prompt) const;
  // A completion as training and scoring see it (with the end-of-turn token in chat mode).
  std::vector<int32_t> completion_ids(const std::string& completion) const;

  // Every row of data; a RuntimeFailure "FILE:LINE: ..." for a row that cannot be used.
  EncodedData encode_all(const Dataset& data) const;

  bool chat() const { return chat_; }
  int32_t max_length() const { return max_length_; }

 private:
  const sp_tokenizer* tokenizer_;
  bool chat_;
  int32_t max_length_;
  int64_t vocab_size_ = 0;
  int32_t end_of_turn_ = -1;
};

// Cuts a row to max_length tokens: the prompt's start first (down to one token), then the
// target's end. Returns whether anything was cut.
bool truncate_row(EncodedRow& row, int32_t max_length);

// The chat template's rendering of messages (role, content) pairs.
std::string render_chat(const sp_tokenizer* tokenizer, const std::vector<std::pair<std::string, std::string>>& messages,
                        bool add_generation_prompt);

// Ids to text (special tokens skipped).
std::string decode(const sp_tokenizer* tokenizer, const std::vector<int32_t>& ids);

}  // namespace cli
