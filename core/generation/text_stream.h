// A row's generated text as it grows, token by token, in whole characters: each token yields the
// bytes it completes. Bytes that do not decode yet (a byte-level token cut inside a character shows
// as a trailing U+FFFD) are held back until a later token completes them or the row ends.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace sp::generation {

class TextStream {
 public:
  // `tokenizer` may be null: then every piece is empty.
  TextStream(std::shared_ptr<const tok::Tokenizer> tokenizer, bool skip_special_tokens);

  // Adds a token and returns the text it completes.
  std::string push(int32_t id);
  // The row has ended: everything held back (an unfinished character as U+FFFD).
  std::string finish();
  // The row's text so far, held-back bytes left out.
  const std::string& text() const { return emitted_; }

 private:
  std::string advance(bool last);

  std::shared_ptr<const tok::Tokenizer> tokenizer_;
  bool skip_special_tokens_;
  std::vector<int32_t> ids_;
  std::string emitted_;
};

}  // namespace sp::generation
