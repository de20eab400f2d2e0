// The decoder-only topology (llama, mistral, qwen2, gpt2): token embeddings (plus learned
// positions, or rotary ones inside attention), pre-norm causal blocks, a final norm.
#include <tuple>

#include "model/transformer.h"

namespace sp::model {

at::Tensor Transformer::decoder_forward(const ForwardInputs& inputs, const at::Tensor& positions, int64_t P) const {
  const int64_t S = inputs.embeddings.size(1);
  const bool packed = !inputs.row_lengths.empty();
  at::Tensor x = inputs.embeddings;
  at::Tensor cos, sin;
  if (config_.position == PositionKind::Learned) {
    x = x + at::embedding(position_embedding_, positions);
  } else {
    // transformers' dynamic rope length, max(position_ids) + 1: known on the host for the default
    // positions, so only explicit ones cost a device read.
    const int64_t seq_len =
        inputs.position_ids.defined() && config_.rope.type == "dynamic" ? positions.max().item<int64_t>() + 1 : P + S;
    std::tie(cos, sin) = rotary_cos_sin(positions, seq_len);
  }

  // Without padding no mask is needed: a single query (a decoding step) sees every earlier key, and
  // on CUDA attention gives longer calls their causal rule behind up to S earlier keys. The CPU's
  // fused kernel is faster with a mask than with placeholder queries.
  at::Tensor mask;
  if (!packed && (inputs.attention_mask.defined() || layers_.front().attention.prefix_needs_mask(P, S, device_)))
    mask = build_attention_mask(inputs.attention_mask, S, P, device_, true, inputs.absent_keys);

  for (std::size_t index = 0; index < layers_.size(); ++index) {
    const Block& block = layers_[index];
    x = x + block.attention(block.attention_norm(x), cos, sin, mask, earlier_keys(inputs, index, P), inputs.few_rows);
    x = x + block.mlp(block.mlp_norm(x), inputs.few_rows);
  }
  if (inputs.cache) inputs.cache->length += S;
  return final_norm_(x);
}

}  // namespace sp::model
