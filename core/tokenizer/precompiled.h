// SentencePiece's precompiled normalizer (tokenizer.json "Precompiled", as T5, ALBERT and mT5
// files carry it): the base64 precompiled_charsmap of a SentencePiece model, a double-array trie
// of characters sequences to their normalized replacements.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "tokenizer/pipeline.h"

namespace sp::tok {

std::unique_ptr<Normalizer> make_precompiled_normalizer(const nlohmann::json& json, const std::string& where);

}  // namespace sp::tok
