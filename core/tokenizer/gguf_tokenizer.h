// A tokenizer described by a GGUF file's metadata (tokenizer.ggml.*), built as transformers builds it
// (integrations/gguf/gguf_tokenizer_mapping.py, 5.24): the same tokenizer.json it would hand to
// `tokenizers`, so the ids are those of AutoTokenizer.from_pretrained(..., gguf_file=...).
//   tokenizer.ggml.model "gpt2": byte-level BPE (GPT2Tokenizer), the pre-tokenizer's split pattern
//       chosen by tokenizer.ggml.pre where transformers knows the name (llama-bpe, qwen2, ...);
//   tokenizer.ggml.model "llama": SentencePiece-style BPE with byte fallback (LlamaTokenizer), merges
//       from the file or, when it has none, recovered from the vocabulary's scores.
// Control tokens become special added tokens, user-defined ones plain added tokens; bos, eos, unk
// and pad come from their tokenizer.ggml.*_token_id keys, the chat template from
// tokenizer.chat_template. Other tokenizer models (t5, gemma's) are refused with Unsupported.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "io/gguf.h"
#include "tokenizer/tokenizer.h"

namespace sp::tok {

struct GgufTokenizerParts {
  nlohmann::json tokenizer_json;  // a tokenizer.json document
  SpecialIds special;
  std::string chat_template;  // "" when the file has none
};

GgufTokenizerParts tokenizer_from_gguf(const io::GgufFile& file);

}  // namespace sp::tok
