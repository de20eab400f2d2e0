#include "tokenizer/precompiled.h"

#include "util/errors.h"

namespace sp::tok {

std::unique_ptr<Normalizer> make_precompiled_normalizer(const nlohmann::json&, const std::string& where) {
  fail(ErrorKind::Unsupported, where + ": unknown type \"Precompiled\"");
}

}  // namespace sp::tok
