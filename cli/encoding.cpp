#include "encoding.h"

#include "failures.h"

namespace cli {

namespace {

// The end of an assistant's turn: the model's first EOS id (generation_config.json or the GGUF
// metadata; <|im_end|> for the ChatML family), else the tokenizer's EOS.
int32_t end_of_turn_id(const sp_model* model, const sp_tokenizer* tokenizer) {
  size_t count = 0;
  int32_t ids[16];
  if (sp_model_eos_ids(model, ids, 16, &count) == SP_OK && count > 0) return ids[0];
  sp_tokenizer_info info = sp_tokenizer_info_init();
  check(sp_tokenizer_get_info(tokenizer, &info), "the tokenizer's special tokens");
  if (info.eos_id < 0) throw RuntimeFailure("--chat needs an end-of-turn token, and the model names no EOS id");
  return info.eos_id;
}

}  // namespace

Encoder::Encoder(const sp_model* model, const sp_tokenizer* tokenizer, bool chat, int32_t max_length)
    : tokenizer_(tokenizer), chat_(chat), max_length_(max_length) {
  sp_model_info info = sp_model_info_init();
  check(sp_model_get_info(model, &info), "the model's sizes");
  vocab_size_ = info.vocab_size;
  if (chat_) {
    render_chat(tokenizer, {{"user", "hello"}}, true);  // no template: fail now, not at a row
    end_of_turn_ = end_of_turn_id(model, tokenizer);
  }
}

std::vector<int32_t> Encoder::encode(const std::string& text, bool add_special) const {
  size_t count = 0;
  const sp_status sized =
      sp_tokenizer_encode(tokenizer_, text.data(), text.size(), add_special ? 1 : 0, nullptr, 0, &count);
  if (sized != SP_ERR_BUFFER_TOO_SMALL) check(sized, "encoding text");
  std::vector<int32_t> ids(count);
  if (count > 0) {
    check(
        sp_tokenizer_encode(tokenizer_, text.data(), text.size(), add_special ? 1 : 0, ids.data(), ids.size(), &count),
        "encoding text");
  }
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size_) {
      throw RuntimeFailure("token id " + std::to_string(id) + " is outside the model's vocabulary (" +
                           std::to_string(vocab_size_) + " ids): the tokenizer does not match the model");
    }
  }
  return ids;
}

std::vector<int32_t> Encoder::prompt_ids(const std::string& prompt) const {
  if (chat_) return encode(render_chat(tokenizer_, {{"user", prompt}}, true), false);
  return encode(prompt, true);
}

std::vector<int32_t> Encoder::completion_ids(const std::string& completion) const {
  std::vector<int32_t> ids = encode(completion, false);
  if (chat_) ids.push_back(end_of_turn_);
  return ids;
}

EncodedData Encoder::encode_all(const Dataset& data) const {
  EncodedData encoded;
  encoded.path = data.path;
  encoded.format = data.format;
  for (const Example& example : data.rows) {
    const std::string where = data.path + ":" + std::to_string(example.line) + ": ";
    EncodedRow row;
    row.line = example.line;
    row.task = example.task;
    try {
      if (data.format == DataFormat::Text && !chat_) {
        std::vector<int32_t> ids = encode(example.completion, true);
        if (ids.size() < 2) throw RuntimeFailure("the text is a single token: nothing to predict after it");
        row.prompt.assign(ids.begin(), ids.begin() + 1);
        row.target.assign(ids.begin() + 1, ids.end());
      } else {
        row.prompt = prompt_ids(data.format == DataFormat::Text ? std::string() : example.prompt);
        row.target = completion_ids(example.completion);
        if (row.prompt.empty()) {
          throw RuntimeFailure("the prompt encodes to no tokens (the tokenizer adds no BOS): give a non-empty prompt");
        }
        if (row.target.empty()) throw RuntimeFailure("the completion encodes to no tokens");
      }
    } catch (const RuntimeFailure& failure) {
      throw RuntimeFailure(where + failure.what());
    }
    if (max_length_ > 0 && truncate_row(row, max_length_)) ++encoded.truncated_rows;
    encoded.rows.push_back(std::move(row));
    encoded.completions.push_back(example.completion);
  }
  return encoded;
}

bool truncate_row(EncodedRow& row, int32_t max_length) {
  const size_t limit = static_cast<size_t>(max_length < 2 ? 2 : max_length);
  if (row.prompt.size() + row.target.size() <= limit) return false;
  const size_t keep_target = std::min(row.target.size(), limit - 1);
  const size_t keep_prompt = limit - keep_target;
  row.prompt.erase(row.prompt.begin(), row.prompt.end() - static_cast<std::ptrdiff_t>(keep_prompt));
  row.target.resize(keep_target);
  return true;
}

std::string render_chat(const sp_tokenizer* tokenizer, const std::vector<std::pair<std::string, std::string>>& messages,
                        bool add_generation_prompt) {
  std::vector<sp_chat_message> chat;
  for (const auto& message : messages) {
    chat.push_back(sp_chat_message{message.first.c_str(), message.second.data(), message.second.size()});
  }
  size_t size = 0;
  const int32_t generation_prompt = add_generation_prompt ? 1 : 0;
  const sp_status sized =
      sp_tokenizer_apply_chat_template(tokenizer, chat.data(), chat.size(), generation_prompt, nullptr, 0, &size);
  if (sized == SP_ERR_NOT_FOUND) throw RuntimeFailure("--chat: the model has no chat template");
  if (sized != SP_ERR_BUFFER_TOO_SMALL) check(sized, "--chat: applying the chat template");
  std::string text(size + 1, '\0');
  check(sp_tokenizer_apply_chat_template(tokenizer, chat.data(), chat.size(), generation_prompt, text.data(),
                                         text.size(), &size),
        "--chat: applying the chat template");
  text.resize(size);
  return text;
}

std::string decode(const sp_tokenizer* tokenizer, const std::vector<int32_t>& ids) {
  size_t size = 0;
  const sp_status sized = sp_tokenizer_decode(tokenizer, ids.data(), ids.size(), 1, nullptr, 0, &size);
  if (sized != SP_ERR_BUFFER_TOO_SMALL) check(sized, "decoding tokens");
  std::string text(size + 1, '\0');
  check(sp_tokenizer_decode(tokenizer, ids.data(), ids.size(), 1, text.data(), text.size(), &size), "decoding tokens");
  text.resize(size);
  return text;
}

}  // namespace cli
