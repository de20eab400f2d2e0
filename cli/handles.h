// Owning pointers for the library's handles: every object is freed with its own *_free, on every
// path out of a command (an exception included).
#pragma once

#include <softprompt/softprompt.h>

#include <memory>

namespace cli {

struct ModelFree {
  void operator()(sp_model* model) const { sp_model_free(model); }
};
struct AdapterFree {
  void operator()(sp_adapter* adapter) const { sp_adapter_free(adapter); }
};
struct TrainerFree {
  void operator()(sp_trainer* trainer) const { sp_trainer_free(trainer); }
};
struct TokenizerFree {
  void operator()(sp_tokenizer* tokenizer) const { sp_tokenizer_free(tokenizer); }
};
struct ContextFree {
  void operator()(sp_context* context) const { sp_context_free(context); }
};

using Model = std::unique_ptr<sp_model, ModelFree>;
using Adapter = std::unique_ptr<sp_adapter, AdapterFree>;
using Trainer = std::unique_ptr<sp_trainer, TrainerFree>;
using Tokenizer = std::unique_ptr<sp_tokenizer, TokenizerFree>;
using Context = std::unique_ptr<sp_context, ContextFree>;

}  // namespace cli
