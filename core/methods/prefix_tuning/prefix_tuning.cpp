#include "methods/prefix_tuning/prefix_tuning.h"

#include "methods/prefix_tuning/config.h"
#include "util/errors.h"

namespace sp::methods {

PrefixTuning::PrefixTuning(const MethodConfig& config, const model::Transformer& model)
    : SoftPromptMethod(config, model),
      settings_(config.get<PrefixTuningSettings>()),
      token_dim_(prefix_geometry(model.config()).token_dim),
      model_dtype_(model.dtype()) {
  const int64_t n = config.num_virtual_tokens, flat = 2 * model.config().num_layers * token_dim_;
  const int64_t hidden = prefix_encoder_width(settings_, model.config());
  at::Generator& generator = generator_;
  const at::Device device = model.device();
  if (projected()) {
    // PEFT's draw order: embedding, first Linear, second Linear; "zero" then clears the last Linear.
    table_ = trainable(normal_table(n, token_dim_, generator), device);
    first_ = make_linear(token_dim_, hidden, generator);
    second_ = make_linear(hidden, flat, generator);
    if (settings_.prefix_zero_init) {
      second_.weight.zero_();
      second_.bias.zero_();
    }
    first_ = {trainable(first_.weight, device), trainable(first_.bias, device)};
    second_ = {trainable(second_.weight, device), trainable(second_.bias, device)};
  } else {
    at::Tensor table = normal_table(n, flat, generator);
    if (settings_.prefix_zero_init) table.zero_();
    table_ = trainable(table, device);
  }
}

at::Tensor PrefixTuning::flat_prefix() const {
  if (!projected()) return table_;
  return at::linear(at::tanh(at::linear(table_, first_.weight, first_.bias)), second_.weight, second_.bias);
}

PromptContribution PrefixTuning::contribute(const PromptRequest& request) const {
  const int64_t n = config_.num_virtual_tokens, L = model_.num_layers, H = model_.num_kv_heads, hd = model_.head_dim;
  // (n, 2L * H * hd) -> (2L, H, n, hd): block 2l holds layer l's keys, 2l + 1 its values. PEFT casts
  // to the model dtype before reshaping; the prefix is never dropped out and never rotated.
  at::Tensor blocks = flat_prefix().to(model_dtype_).view({n, 2 * L, H, hd}).permute({1, 2, 0, 3});
  PromptContribution contribution;
  // Encoder-decoder models: only the decoder's self-attention gets a prefix, and PEFT's doubled
  // (self, cross) layout gives decoder layer l the slot (2l) mod L (spec 3.3); the odd slots and the
  // cross-attention pairs are never used.
  const bool seq2seq = model_.topology == model::Topology::EncoderDecoder;
  const int64_t layers = seq2seq ? model_.num_decoder_layers : L;
  for (int64_t layer = 0; layer < layers; ++layer) {
    const int64_t slot = seq2seq ? (2 * layer) % L : layer;
    contribution.kv_prefix.push_back({blocks[2 * slot].unsqueeze(0).expand({request.batch_size, -1, -1, -1}),
                                      blocks[2 * slot + 1].unsqueeze(0).expand({request.batch_size, -1, -1, -1})});
  }
  return contribution;
}

NamedTensors PrefixTuning::prompt_parameters() const {
  if (!projected()) return {{"embedding.weight", table_}};
  return {{"embedding.weight", table_},
          {"transform.0.weight", first_.weight},
          {"transform.0.bias", first_.bias},
          {"transform.2.weight", second_.weight},
          {"transform.2.bias", second_.bias}};
}

NamedTensors PrefixTuning::prompt_tensors_for_saving() const {
  // PEFT saves the projected prefix itself (the MLP is not saved): quirk 9 of the spec.
  at::NoGradGuard no_grad;
  return {{"prompt_embeddings", flat_prefix().detach()}};
}

}  // namespace sp::methods
