#include "generation/text_stream.h"

#include <string_view>

namespace sp::generation {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// `text` without its trailing U+FFFD characters: bytes a later token may still complete.
std::string_view settled(std::string_view text) {
  while (text.size() >= kReplacement.size() && text.substr(text.size() - kReplacement.size()) == kReplacement)
    text.remove_suffix(kReplacement.size());
  return text;
}

}  // namespace

TextStream::TextStream(std::shared_ptr<const tok::Tokenizer> tokenizer, bool skip_special_tokens)
    : tokenizer_(std::move(tokenizer)), skip_special_tokens_(skip_special_tokens) {}

std::string TextStream::push(int32_t id) {
  if (!tokenizer_) return {};
  // A model's vocabulary may be larger than its tokenizer's (padded embedding tables): ids the
  // tokenizer does not have add no text, rather than failing the generation.
  if (tokenizer_->id_to_token(id)) ids_.push_back(id);
  return advance(false);
}

std::string TextStream::finish() { return tokenizer_ ? advance(true) : std::string(); }

std::string TextStream::advance(bool last) {
  // The whole row is decoded again: decoders join tokens (spaces, "##", byte runs), so a token's text
  // depends on its neighbours. A row is short next to the cost of the forward pass that made it.
  const std::string full = tokenizer_->decode(ids_.data(), ids_.size(), skip_special_tokens_);
  std::string_view ready = last ? std::string_view(full) : settled(full);
  // Decoders extend their text at the end; should one ever rewrite earlier text, the new part is
  // what follows the longest common start, and the row's pieces then differ from its full decode.
  std::size_t common = 0;
  while (common < emitted_.size() && common < ready.size() && emitted_[common] == ready[common]) ++common;
  if (ready.size() <= common) return {};
  std::string piece(ready.substr(common));
  emitted_.assign(ready);
  return piece;
}

}  // namespace sp::generation
