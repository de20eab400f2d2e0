// The ids that end generation for a model folder, as transformers' generate finds them:
// generation_config.json's eos_token_id (one id or a list), else config.json's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sp::model {

// Ids outside [0, vocab_size) are left out (a model cannot produce them). Empty when neither file
// names any. Format when a file is not valid JSON or the key holds something other than integers.
std::vector<int32_t> read_eos_ids(const std::string& folder, int64_t vocab_size);

}  // namespace sp::model
