// P-tuning (Liu et al. 2021) as PEFT implements it: a (n, token_dim) table passed through a prompt
// encoder - an MLP (Linear, ReLU, Linear, ReLU, Linear) or a bidirectional LSTM followed by
// (Linear, ReLU, Linear) - and prepended to the input embeddings like prompt tuning.
#pragma once

#include <vector>

#include "methods/init.h"
#include "methods/method.h"

namespace sp::methods {

class PTuning final : public SoftPromptMethod {
 public:
  PTuning(const MethodConfig& config, const model::Transformer& model);

  PromptContribution contribute(const PromptRequest& request) const override;
  NamedTensors prompt_parameters() const override;
  // PEFT saves the encoder's output, not the encoder: quirk 9 of the spec. We run the encoder
  // without dropout for the save; PEFT saving in training mode with LSTM dropout stores a noisy copy.
  NamedTensors prompt_tensors_for_saving() const override;
  // LSTM dropout's generator (undefined for adapters holding only the encoded table).
  at::Generator training_generator() const override { return dropout_generator_; }

 private:
  at::Tensor encode(bool training) const;  // (T, token_dim) float32
  // On CUDA with cuDNN: moves the LSTM weights into one buffer in cuDNN's layout (what
  // torch.nn.LSTM.flatten_parameters does), so that cuDNN need not copy them at every call.
  void flatten_lstm_weights();
  // Layers [first, end) of the LSTM in torch.nn.LSTM's flat order (per layer: forward then reverse
  // direction, each w_ih, w_hh, b_ih, b_hh), as at::lstm and cuDNN take them.
  std::vector<at::Tensor> lstm_weights(std::size_t first, std::size_t end) const;

  struct LstmLayer {
    at::Tensor w_ih, w_hh, b_ih, b_hh, w_ih_reverse, w_hh_reverse, b_ih_reverse, b_hh_reverse;
  };
  PTuningSettings settings_;
  at::Tensor table_;             // (T, token_dim)
  std::vector<Linear> mlp_;      // MLP head: 3 Linears (MLP) or 2 (after the LSTM)
  std::vector<LstmLayer> lstm_;  // LSTM only
  mutable at::Generator dropout_generator_;
};

}  // namespace sp::methods
