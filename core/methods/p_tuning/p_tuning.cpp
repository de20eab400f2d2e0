#include "methods/p_tuning/p_tuning.h"

#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/util/Exception.h>

#include <cmath>

#include "methods/p_tuning/config.h"
#include "util/errors.h"

namespace sp::methods {

namespace {
at::Tensor uniform(std::vector<int64_t> shape, double bound, at::Generator& generator) {
  at::Tensor t = at::empty(shape, at::kFloat);
  t.uniform_(-bound, bound, generator);
  return t;
}
}  // namespace

PTuning::PTuning(const MethodConfig& config, const model::Transformer& model)
    : SoftPromptMethod(config, model), settings_(config.get<PTuningSettings>()) {
  const int64_t T = config.total_virtual_tokens(), d = model.config().hidden_size;
  const int64_t h = p_tuning_encoder_width(settings_, model.config());
  const at::Device device = model.device();
  at::Generator& generator = generator_;
  table_ = trainable(normal_table(T, d, generator), device);
  if (config.encoded_only) return;

  // PEFT's construction order: embedding, then (LSTM parameters, MLP) or the MLP's three Linears.
  if (settings_.encoder_type == SP_ENCODER_LSTM) {
    // torch.nn.LSTM: every tensor U(-1/sqrt(h), 1/sqrt(h)), per layer: forward then reverse direction.
    const double bound = 1.0 / std::sqrt(static_cast<double>(h));
    for (int64_t layer = 0; layer < settings_.encoder_num_layers; ++layer) {
      const int64_t in = layer == 0 ? d : 2 * h;
      // Drawn in torch.nn.LSTM's order (its _flat_weights), each made trainable on the device.
      auto draw = [&](std::vector<int64_t> shape) { return trainable(uniform(shape, bound, generator), device); };
      LstmLayer l;
      l.w_ih = draw({4 * h, in});
      l.w_hh = draw({4 * h, h});
      l.b_ih = draw({4 * h});
      l.b_hh = draw({4 * h});
      l.w_ih_reverse = draw({4 * h, in});
      l.w_hh_reverse = draw({4 * h, h});
      l.b_ih_reverse = draw({4 * h});
      l.b_hh_reverse = draw({4 * h});
      lstm_.push_back(l);
    }
    flatten_lstm_weights();
    mlp_.push_back(make_linear(2 * h, 2 * h, generator));
    mlp_.push_back(make_linear(2 * h, d, generator));
  } else {
    mlp_.push_back(make_linear(d, h, generator));
    mlp_.push_back(make_linear(h, h, generator));
    mlp_.push_back(make_linear(h, d, generator));
  }
  for (auto& linear : mlp_) linear = {trainable(linear.weight, device), trainable(linear.bias, device)};
  dropout_generator_ = make_generator(config.seed + 1);
}

void PTuning::flatten_lstm_weights() {
  if (lstm_.empty() || !table_.device().is_cuda() || !at::globalContext().userEnabledCuDNN() ||
      !at::detail::getCUDAHooks().hasCuDNN())
    return;
  const std::vector<at::Tensor> weights = lstm_weights(0, lstm_.size());
  const int64_t input_size = lstm_.front().w_ih.size(1), hidden = lstm_.front().w_hh.size(1);
  constexpr int64_t kCudnnLstmMode = 2;  // CUDNN_LSTM
  at::NoGradGuard no_grad;
  try {
    // Copies the values into one buffer and makes every weight a view of it (same values, same
    // tensors, so the optimizer and saving see no difference).
    at::_cudnn_rnn_flatten_weight(weights, /*weight_stride0=*/4, input_size, kCudnnLstmMode, hidden, /*proj_size=*/0,
                                  static_cast<int64_t>(lstm_.size()), /*batch_first=*/true, /*bidirectional=*/true);
  } catch (const c10::Error&) {
    // Only a speed and memory optimisation: without it cuDNN copies the weights at each call.
  }
}

at::Tensor PTuning::encode(bool training) const {
  if (config_.encoded_only) return table_;
  at::Tensor x = table_.unsqueeze(0);  // (1, T, d): PEFT runs the encoder once and tiles the result
  if (settings_.encoder_type == SP_ENCODER_LSTM) {
    const int64_t h = lstm_.front().w_hh.size(1);
    const auto layers = static_cast<int64_t>(lstm_.size());
    const bool dropout = training && settings_.encoder_dropout > 0 && layers > 1;
    if (!dropout) {
      // All layers in one call: the same operation torch.nn.LSTM runs, so results match PEFT's bit for bit.
      at::Tensor zeros = at::zeros({2 * layers, 1, h}, x.options());
      x = std::get<0>(
          at::lstm(x, {zeros, zeros}, lstm_weights(0, lstm_.size()), true, layers, 0.0, training, true, true));
    } else {
      // One layer per call, so that dropout between layers draws from the adapter's own generator.
      at::Tensor zeros = at::zeros({2, 1, h}, x.options());
      for (int64_t index = 0; index < layers; ++index) {
        x = std::get<0>(
            at::lstm(x, {zeros, zeros}, lstm_weights(index, index + 1), true, 1, 0.0, training, true, true));
        if (index + 1 < layers) {
          const double keep = 1.0 - settings_.encoder_dropout;
          at::Tensor mask = at::empty(x.sizes(), at::kFloat).bernoulli_(keep, dropout_generator_);
          x = x * mask.to(x.device()) / keep;
        }
      }
    }
    x = at::linear(at::relu(at::linear(x, mlp_[0].weight, mlp_[0].bias)), mlp_[1].weight, mlp_[1].bias);
  } else {
    x = at::relu(at::linear(x, mlp_[0].weight, mlp_[0].bias));
    x = at::relu(at::linear(x, mlp_[1].weight, mlp_[1].bias));
    x = at::linear(x, mlp_[2].weight, mlp_[2].bias);
  }
  return x.squeeze(0);
}

std::vector<at::Tensor> PTuning::lstm_weights(std::size_t first, std::size_t end) const {
  std::vector<at::Tensor> weights;
  for (std::size_t k = first; k < end; ++k) {
    const LstmLayer& l = lstm_[k];
    weights.insert(weights.end(),
                   {l.w_ih, l.w_hh, l.b_ih, l.b_hh, l.w_ih_reverse, l.w_hh_reverse, l.b_ih_reverse, l.b_hh_reverse});
  }
  return weights;
}

PromptContribution PTuning::contribute(const PromptRequest& request) const {
  PromptContribution contribution;
  // The encoder runs over all n * m rows (with m = 2 the LSTM's backward direction carries the unused
  // half into the first n); seq2seq inserts only those first n, in front of the encoder (PEFT).
  contribution.prepend_embeddings = encode(request.training)
                                        .narrow(0, 0, config_.num_virtual_tokens)
                                        .unsqueeze(0)
                                        .expand({request.batch_size, -1, -1});
  return contribution;
}

NamedTensors PTuning::prompt_parameters() const {
  NamedTensors named = {{"embedding.weight", table_}};
  for (std::size_t k = 0; k < lstm_.size(); ++k) {
    const std::string s = std::to_string(k);
    const LstmLayer& l = lstm_[k];
    named.insert(named.end(), {{"lstm_head.weight_ih_l" + s, l.w_ih},
                               {"lstm_head.weight_hh_l" + s, l.w_hh},
                               {"lstm_head.bias_ih_l" + s, l.b_ih},
                               {"lstm_head.bias_hh_l" + s, l.b_hh},
                               {"lstm_head.weight_ih_l" + s + "_reverse", l.w_ih_reverse},
                               {"lstm_head.weight_hh_l" + s + "_reverse", l.w_hh_reverse},
                               {"lstm_head.bias_ih_l" + s + "_reverse", l.b_ih_reverse},
                               {"lstm_head.bias_hh_l" + s + "_reverse", l.b_hh_reverse}});
  }
  for (std::size_t k = 0; k < mlp_.size(); ++k) {
    const std::string index = std::to_string(2 * k);  // Linears sit at 0, 2, 4 of PEFT's Sequential
    named.emplace_back("mlp_head." + index + ".weight", mlp_[k].weight);
    named.emplace_back("mlp_head." + index + ".bias", mlp_[k].bias);
  }
  return named;
}

NamedTensors PTuning::prompt_tensors_for_saving() const {
  at::NoGradGuard no_grad;
  return {{"prompt_embeddings", encode(false).detach()}};
}

}  // namespace sp::methods
