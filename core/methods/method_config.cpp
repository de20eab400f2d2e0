#include "methods/method.h"

namespace sp::methods {

const char* peft_type_name(MethodKind kind) {
  switch (kind) {
    case MethodKind::PromptTuning: return "PROMPT_TUNING";
    case MethodKind::PrefixTuning: return "PREFIX_TUNING";
    case MethodKind::PTuning: return "P_TUNING";
    case MethodKind::MultitaskPromptTuning: return "MULTITASK_PROMPT_TUNING";
  }
  return "PROMPT_TUNING";
}

const char* prompt_init_name(PromptInit init) {
  switch (init) {
    case PromptInit::Random: return "RANDOM";
    case PromptInit::SampleVocab: return "SAMPLE_VOCAB";
    case PromptInit::Text: return "TEXT";
    case PromptInit::AverageSourceTasks: return "AVERAGE_SOURCE_TASKS";
    case PromptInit::ExactSourceTask: return "EXACT_SOURCE_TASK";
    case PromptInit::OnlySourceShared: return "ONLY_SOURCE_SHARED";
  }
  return "RANDOM";
}

const char* encoder_type_name(EncoderType type) { return type == EncoderType::Lstm ? "LSTM" : "MLP"; }

int64_t SoftPromptMethod::peft_token_dim() const { return model_.hidden_size; }
int64_t SoftPromptMethod::peft_num_attention_heads() const { return model_.num_heads; }

}  // namespace sp::methods
