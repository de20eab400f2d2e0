#include "methods/registry.h"

#include "methods/multitask_prompt_tuning/config.h"
#include "methods/p_tuning/config.h"
#include "methods/prefix_tuning/config.h"
#include "methods/prompt_tuning/config.h"

namespace sp::methods {

namespace {
// In sp_method's order, which is also MethodSettings' order.
const MethodRow* const kMethods[] = {&kPromptTuningRow, &kPrefixTuningRow, &kPTuningRow, &kMultitaskPromptTuningRow};
static_assert(std::size(kMethods) == std::variant_size_v<MethodSettings>, "one row per MethodSettings alternative");
static_assert(
    std::is_same_v<std::variant_alternative_t<SP_METHOD_PREFIX_TUNING, MethodSettings>, PrefixTuningSettings> &&
        std::is_same_v<std::variant_alternative_t<SP_METHOD_P_TUNING, MethodSettings>, PTuningSettings> &&
        std::is_same_v<std::variant_alternative_t<SP_METHOD_MULTITASK_PROMPT_TUNING, MethodSettings>,
                       MultitaskPromptTuningSettings>,
    "MethodSettings follows sp_method's order");
}  // namespace

void SettingsCheck::fail(const std::string& message) const {
  sp::fail(kind, source.empty() ? message : source + ": " + message);
}

void SettingsCheck::bound(int64_t value, int64_t low, int64_t high, const char* key) const {
  if (value < low || value > high)
    fail(std::string(key) + " = " + std::to_string(value) + " is outside the plausible range [" + std::to_string(low) +
         ", " + std::to_string(high) + "]");
}

const MethodRow& method_row(sp_method method) {
  for (const MethodRow* row : kMethods)
    if (row->method == method) return *row;
  fail(ErrorKind::InvalidArgument, std::to_string(static_cast<int>(method)) + " is not an sp_method");
}

const MethodRow* find_method_row(const std::string& peft_type) {
  for (const MethodRow* row : kMethods)
    if (peft_type == row->peft_type) return row;
  return nullptr;
}

std::string supported_peft_types() {
  std::string list;
  for (const MethodRow* row : kMethods) list += (list.empty() ? "" : ", ") + std::string(row->peft_type);
  return list;
}

PeftGeometry embedding_geometry(const model::ModelConfig& model) { return {model.hidden_size, model.num_heads, false}; }

void require_random_init(const sp_adapter_params& params, const char* peft_type) {
  if (params.init != SP_INIT_RANDOM)
    fail(ErrorKind::InvalidArgument, std::string(peft_type) + " has no " + prompt_init_name(params.init) +
                                         " initialisation (its tables start random)");
}

}  // namespace sp::methods
