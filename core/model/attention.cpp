#include "model/attention.h"

#include <cmath>
#include <optional>

#include "model/fused_ops.h"

namespace sp::model {

at::Tensor build_attention_mask(const at::Tensor& key_mask, int64_t S, int64_t P, at::Device device, bool causal,
                                const at::Tensor& absent_keys) {
  auto long_options = at::TensorOptions().dtype(at::kLong).device(device);
  at::Tensor mask;
  if (causal) {
    at::Tensor keys = at::arange(P + S, long_options);
    at::Tensor queries = at::arange(P, P + S, long_options);
    mask = keys.unsqueeze(0).le(queries.unsqueeze(1)).unsqueeze(0).unsqueeze(0);
  } else {
    mask = at::ones({1, 1, S, P + S}, at::TensorOptions().dtype(at::kBool).device(device));
  }
  if (key_mask.defined()) mask = mask.logical_and(key_mask.to(device).ne(0).unsqueeze(1).unsqueeze(1));
  // A query that may see nothing (a pad before any real token) would produce NaN; let it see
  // everything instead, as transformers does (its output can still be read: the last pad before a
  // row's first token predicts that token in a causal-LM loss). Everything its row has, that is:
  // the slots a mixed-adapter batch pads shorter prefixes with are not the row's.
  const at::Tensor blind = mask.any(-1, true).logical_not();
  if (!absent_keys.defined()) return mask.logical_or(blind);
  const at::Tensor present =
      at::constant_pad_nd(absent_keys.to(device).logical_not(), {0, S}, 1).unsqueeze(1).unsqueeze(1);
  return mask.logical_or(blind.logical_and(present));
}

bool SelfAttention::prefix_needs_mask(int64_t P, int64_t S, at::Device device) const {
  return causal && P > 0 && S > 1 && (P > S || device.is_cpu());
}

at::Tensor SelfAttention::operator()(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                                     const at::Tensor& mask, const EarlierKeys& earlier, bool few_rows) const {
  const int64_t B = x.size(0), S = x.size(1);
  const int64_t H = num_heads, Hkv = num_kv_heads, hd = head_dim;
  auto parts = qkv(x, few_rows).split_with_sizes({H * hd, Hkv * hd, Hkv * hd}, -1);
  at::Tensor q = parts[0].view({B, S, H, hd});
  at::Tensor k = parts[1].view({B, S, Hkv, hd});
  if (cos.defined()) {
    q = rotary(q, cos, sin);
    k = rotary(k, cos, sin);
  }
  q = q.transpose(1, 2);
  k = k.transpose(1, 2);
  at::Tensor v = parts[2].view({B, S, Hkv, hd}).transpose(1, 2);
  if (earlier.keys_out) earlier.keys_out->push_back({k, v});
  if (earlier.row_lengths) {
    // Packed rows: each row's queries see its own keys (and its row of the prefix) only.
    std::vector<at::Tensor> rows;
    int64_t offset = 0;
    for (std::size_t row = 0; row < earlier.row_lengths->size(); ++row) {
      const int64_t length = (*earlier.row_lengths)[row];
      at::Tensor row_k = k.narrow(2, offset, length), row_v = v.narrow(2, offset, length);
      if (earlier.prefix) {
        const auto index = static_cast<int64_t>(row);
        row_k = at::cat({earlier.prefix->key.narrow(0, index, 1).to(k.scalar_type()), row_k}, 2);
        row_v = at::cat({earlier.prefix->value.narrow(0, index, 1).to(v.scalar_type()), row_v}, 2);
      }
      const int64_t P = row_k.size(2) - length;
      rows.push_back(attend(q.narrow(2, offset, length), row_k, row_v,
                            prefix_needs_mask(P, length, x.device())
                                ? build_attention_mask(at::Tensor(), length, P, x.device(), causal)
                                : at::Tensor()));
      offset += length;
    }
    return output(at::cat(rows, 2).transpose(1, 2).reshape({B, S, H * hd}), few_rows);
  }
  if (earlier.prefix) {  // prefix keys are used as stored: never rotated
    k = at::cat({earlier.prefix->key.to(k.scalar_type()), k}, 2);
    v = at::cat({earlier.prefix->value.to(v.scalar_type()), v}, 2);
  } else if (earlier.cache_keys.defined()) {
    const int64_t P = earlier.cache_length;
    earlier.cache_keys.narrow(2, P, S).copy_(k);
    earlier.cache_values.narrow(2, P, S).copy_(v);
    k = earlier.cache_keys.narrow(2, 0, P + S);
    v = earlier.cache_values.narrow(2, 0, P + S);
  }
  return output(attend(q, k, v, mask).transpose(1, 2).reshape({B, S, H * hd}), few_rows);
}

namespace {
double scale_for(bool unscaled, int64_t head_dim) {
  return unscaled ? 1.0 : 1.0 / std::sqrt(static_cast<double>(head_dim));
}
}  // namespace

double SelfAttention::score_scale() const { return scale_for(unscaled, head_dim); }

at::Tensor SelfAttention::attend(const at::Tensor& q, at::Tensor k, at::Tensor v, const at::Tensor& mask) const {
  const int64_t S = q.size(2), H = num_heads, Hkv = num_kv_heads;
  const double scale = score_scale();
  const int64_t P = k.size(2) - S;                    // earlier keys: prefix or cache
  if (!mask.defined() && causal && P > 0 && S > 1) {  // CUDA only: the CPU gets a mask
    // Every query sees all P earlier keys and its own causal past: the fused kernel's causal rule
    // (query i sees keys 0..i) gives exactly that to the queries behind P placeholder rows, whose
    // outputs are dropped. Callers pass no mask here only when P <= S, so the placeholders at most
    // double the (cheap) attention products, while a mask would cost the fused kernel.
    return at::scaled_dot_product_attention(at::constant_pad_nd(q, {0, 0, P, 0}), k, v, {}, 0.0, true, scale, H != Hkv)
        .narrow(2, P, S);
  }
  if (!mask.defined()) return at::scaled_dot_product_attention(q, k, v, {}, 0.0, causal && S > 1, scale, H != Hkv);
  // With a mask, CUDA's fused kernels take no grouped heads: expand them first (as transformers
  // does). The CPU's flash kernel takes both, and is faster without the copies.
  const bool grouped_kernel = H != Hkv && q.device().is_cpu();
  if (H != Hkv && !grouped_kernel) {
    k = k.repeat_interleave(H / Hkv, 1);
    v = v.repeat_interleave(H / Hkv, 1);
  }
  return at::scaled_dot_product_attention(q, k, v, mask, 0.0, false, scale, grouped_kernel);
}

KeyValuePrefix CrossAttention::memory(const at::Tensor& encoder_hidden) const {
  const int64_t B = encoder_hidden.size(0), S = encoder_hidden.size(1);
  const std::vector<at::Tensor> parts = key_value(encoder_hidden).view({B, S, 2, num_heads, head_dim}).unbind(2);
  return {parts[0].transpose(1, 2), parts[1].transpose(1, 2)};
}

at::Tensor CrossAttention::operator()(const at::Tensor& x, const KeyValuePrefix& memory, const at::Tensor& mask,
                                      bool few_rows) const {
  const int64_t B = x.size(0), S = x.size(1);
  const at::Tensor q = query(x, few_rows).view({B, S, num_heads, head_dim}).transpose(1, 2);
  // An undefined tensor is not "no mask" to the kernel: that is an empty optional.
  const std::optional<at::Tensor> visible = mask.defined() ? std::optional<at::Tensor>(mask) : std::nullopt;
  const at::Tensor attended =
      at::scaled_dot_product_attention(q, memory.key, memory.value, visible, 0.0, false, scale_for(unscaled, head_dim));
  return output(attended.transpose(1, 2).reshape({B, S, num_heads * head_dim}), few_rows);
}

}  // namespace sp::model
