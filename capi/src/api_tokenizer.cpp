// Entry points: tokenizers (opened alone or taken from a model), encode, decode, vocabulary.
#include <cstring>

#include "guard.h"
#include "handles.h"
#include "outputs.h"
#include "params.h"
#include "tokenizer/chat_template.h"

using namespace sp;
using namespace sp::capi;

namespace {

int32_t flag(int32_t value, const char* name) {
  require(value == 0 || value == 1, std::string(name) + " must be 0 or 1, got " + std::to_string(value));
  return value;
}

}  // namespace

extern "C" {

sp_status sp_tokenizer_load(sp_tokenizer** out, const char* path) noexcept {
  if (out) *out = nullptr;
  return guard([&] {
    require_not_null(out, "out");
    require_not_null(path, "path");
    publish(out, tok::Tokenizer::load(path), HandleKind::Tokenizer);
  });
}

sp_status sp_model_tokenizer(sp_tokenizer** out, const sp_model* model) noexcept {
  if (out) *out = nullptr;
  return guard([&] {
    require_not_null(out, "out");
    const auto core = checked(model, "model");
    auto tokenizer = core->tokenizer();
    publish(out, std::move(tokenizer), HandleKind::Tokenizer);
  });
}

void sp_tokenizer_free(sp_tokenizer* tokenizer) noexcept { free_handle(tokenizer, HandleKind::Tokenizer); }

sp_status sp_tokenizer_encode(const sp_tokenizer* tokenizer, const char* text, size_t text_size,
                              int32_t add_special_tokens, int32_t* ids, size_t capacity, size_t* count) noexcept {
  return guard([&] {
    const auto core = checked(tokenizer, "tokenizer");
    require(text != nullptr || text_size == 0, "text must not be NULL when text_size is " + std::to_string(text_size));
    require_not_null(count, "count");
    const bool special = flag(add_special_tokens, "add_special_tokens") == 1;
    const std::vector<int32_t> result = core->encode(std::string_view(text ? text : "", text_size), special);
    write_ids(result, ids, capacity, count, "the text encodes to");
  });
}

sp_status sp_tokenizer_decode(const sp_tokenizer* tokenizer, const int32_t* ids, size_t count,
                              int32_t skip_special_tokens, char* text, size_t capacity, size_t* size) noexcept {
  return guard([&] {
    const auto core = checked(tokenizer, "tokenizer");
    require(ids != nullptr || count == 0, "ids must not be NULL when count is " + std::to_string(count));
    require_not_null(size, "size");
    const bool skip = flag(skip_special_tokens, "skip_special_tokens") == 1;
    write_text(core->decode(ids, count, skip), text, capacity, size);
  });
}

sp_status sp_tokenizer_id_to_token(const sp_tokenizer* tokenizer, int32_t id, char* text, size_t capacity,
                                   size_t* size) noexcept {
  return guard([&] {
    const auto core = checked(tokenizer, "tokenizer");
    require_not_null(size, "size");
    const std::string* token = core->id_to_token(id);
    if (!token)
      fail(ErrorKind::OutOfRange,
           "id " + std::to_string(id) + " is not in the vocabulary (" + std::to_string(core->vocab_size()) + " ids)");
    write_text(*token, text, capacity, size);
  });
}

sp_status sp_tokenizer_token_to_id(const sp_tokenizer* tokenizer, const char* token, size_t token_size,
                                   int32_t* id) noexcept {
  return guard([&] {
    const auto core = checked(tokenizer, "tokenizer");
    require(token != nullptr || token_size == 0,
            "token must not be NULL when token_size is " + std::to_string(token_size));
    require_not_null(id, "id");
    const std::string_view text(token ? token : "", token_size);
    auto found = core->token_to_id(text);
    if (!found) fail(ErrorKind::NotFound, "the vocabulary has no token \"" + std::string(text.substr(0, 200)) + "\"");
    *id = *found;
  });
}

sp_status sp_tokenizer_apply_chat_template(const sp_tokenizer* tokenizer, const sp_chat_message* messages, size_t count,
                                           int32_t add_generation_prompt, char* text, size_t capacity,
                                           size_t* size) noexcept {
  return guard([&] {
    const auto core = checked(tokenizer, "tokenizer");
    require(messages != nullptr || count == 0, "messages must not be NULL when count is " + std::to_string(count));
    require_not_null(size, "size");
    const bool generation_prompt = flag(add_generation_prompt, "add_generation_prompt") == 1;
    std::vector<tok::ChatMessage> conversation;
    for (size_t i = 0; i < count; ++i) {
      const std::string where = "messages[" + std::to_string(i) + "]";
      require(messages[i].role != nullptr, where + ".role must not be NULL");
      require(messages[i].content != nullptr || messages[i].content_size == 0,
              where + ".content must not be NULL when content_size is " + std::to_string(messages[i].content_size));
      conversation.push_back(
          {messages[i].role, std::string(messages[i].content ? messages[i].content : "", messages[i].content_size)});
    }
    write_text(tok::render_chat(core->chat_template(), conversation, generation_prompt), text, capacity, size);
  });
}

sp_tokenizer_info sp_tokenizer_info_init(void) noexcept {
  sp_tokenizer_info info = sized<sp_tokenizer_info>();
  info.bos_id = info.eos_id = info.pad_id = info.unk_id = -1;
  return info;
}

sp_status sp_tokenizer_get_info(const sp_tokenizer* tokenizer, sp_tokenizer_info* info) noexcept {
  return guard([&] {
    const auto core = checked(tokenizer, "tokenizer");
    require_not_null(info, "info");
    const tok::SpecialIds& special = core->special_ids();
    sp_tokenizer_info full = sp_tokenizer_info_init();
    full.vocab_size = core->vocab_size();
    full.bos_id = special.bos;
    full.eos_id = special.eos;
    full.pad_id = special.pad;
    full.unk_id = special.unk;
    write_result(info, full, "sp_tokenizer_info");
  });
}

}  // extern "C"
