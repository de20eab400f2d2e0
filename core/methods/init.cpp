#include "methods/init.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "util/errors.h"

namespace sp::methods {

at::Generator make_generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

at::Tensor normal_table(int64_t rows, int64_t columns, at::Generator& generator) {
  at::Tensor table = at::empty({rows, columns}, at::kFloat);
  table.normal_(0.0, 1.0, generator);
  return table;
}

Linear make_linear(int64_t in, int64_t out, at::Generator& generator) {
  // kaiming_uniform_(a = sqrt(5)) computed with the same double arithmetic as torch.nn.init.
  const double a = std::sqrt(5.0);
  const double gain = std::sqrt(2.0 / (1 + a * a));
  const double bound = std::sqrt(3.0) * (gain / std::sqrt(static_cast<double>(in)));
  Linear linear;
  linear.weight = at::empty({out, in}, at::kFloat);
  linear.weight.uniform_(-bound, bound, generator);
  const double bias_bound = 1 / std::sqrt(static_cast<double>(in));
  linear.bias = at::empty({out}, at::kFloat);
  linear.bias.uniform_(-bias_bound, bias_bound, generator);
  return linear;
}

std::vector<int64_t> fit_init_token_ids(const std::vector<int64_t>& ids, int64_t count) {
  if (ids.empty()) fail(ErrorKind::InvalidArgument, "TEXT initialisation needs at least one token id");
  std::vector<int64_t> fitted;
  fitted.reserve(count);
  while (static_cast<int64_t>(fitted.size()) < count)
    for (std::size_t i = 0; i < ids.size() && static_cast<int64_t>(fitted.size()) < count; ++i)
      fitted.push_back(ids[i]);
  return fitted;
}

at::Tensor initial_prompt_table(const PromptTuningSettings& settings, const model::Transformer& model, int64_t rows,
                                at::Generator& generator, bool loading) {
  const int64_t V = model.config().vocab_size;
  at::Tensor table = normal_table(rows, model.config().hidden_size, generator);
  if (loading) return table;
  if (settings.init == SP_INIT_SAMPLE_VOCAB) {
    at::Tensor ids = at::randint(0, V, {rows}, generator, at::kLong);
    return model.embed_tokens(ids.to(model.device())).to(at::kCPU, at::kFloat);
  }
  if (settings.init == SP_INIT_TEXT) {
    std::vector<int64_t> ids = fit_init_token_ids(settings.init_token_ids, rows);
    for (int64_t id : ids)
      if (id < 0 || id >= V)
        fail(ErrorKind::OutOfRange,
             "init token id " + std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(V) + ")");
    return model.embed_tokens(at::tensor(ids, at::kLong).to(model.device())).to(at::kCPU, at::kFloat);
  }
  return table;
}

at::Tensor trainable(const at::Tensor& values, at::Device device) {
  return values.detach().to(device, at::kFloat).clone().set_requires_grad(true);
}

}  // namespace sp::methods
