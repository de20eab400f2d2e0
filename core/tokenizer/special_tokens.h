// The special token ids a caller asks for by role (bos, eos, pad, unk). tokenizer.json does not
// name roles; the files transformers writes beside it do. Precedence, first found wins per role:
// tokenizer_config.json ("bos_token": "<s>" or {"content": "<s>", ...}), special_tokens_map.json
// (the same keys), generation_config.json ("bos_token_id": 1, "eos_token_id": 2 or [2, 32000]),
// config.json (the same id keys). The unknown token falls back to the model's own (BPE and
// WordPiece "unk_token", Unigram "unk_id"). A role whose token the vocabulary does not hold, or
// whose id is outside it, is refused as a Format error naming the file and key (a model's
// unk_token outside its vocabulary is accepted, as `tokenizers` accepts it, and gives no unk).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace sp::tok {

// `folder` may be empty (a tokenizer.json opened alone: only the model's unk is known).
// `model_json` is tokenizer.json's "model" object; `token_to_id` resolves token strings and
// `vocab_size` bounds ids.
SpecialIds read_special_ids(const std::string& folder, const nlohmann::json& model_json,
                            const std::function<std::optional<int32_t>(std::string_view)>& token_to_id,
                            int64_t vocab_size);

}  // namespace sp::tok
