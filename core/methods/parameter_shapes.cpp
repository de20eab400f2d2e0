#include "methods/parameter_shapes.h"

#include <unistd.h>

#include <limits>

namespace sp::methods {

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::string prefixed(const std::string& source, const std::string& message) {
  return source.empty() ? message : source + ": " + message;
}

void check_bound(int64_t value, int64_t low, int64_t high, const char* key, ErrorKind kind, const std::string& source) {
  if (value < low || value > high)
    fail(kind, prefixed(source, std::string(key) + " = " + std::to_string(value) + " is outside the plausible range [" +
                                    std::to_string(low) + ", " + std::to_string(high) + "]"));
}

std::uint64_t saturating_multiply(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return std::numeric_limits<std::uint64_t>::max();
  return a * b;
}

// Appends a Linear's weight (out, in) and bias (out) as torch.nn.Linear names them.
void add_linear(std::vector<ExpectedTensor>& out, const std::string& prefix, ExpectedDim in, ExpectedDim out_dim) {
  out.push_back({prefix + ".weight", {out_dim, in}});
  out.push_back({prefix + ".bias", {out_dim}});
}

}  // namespace

std::vector<int64_t> ExpectedTensor::shape() const {
  std::vector<int64_t> sizes;
  for (const auto& dim : dims) sizes.push_back(dim.size);
  return sizes;
}

void check_size_bounds(const MethodConfig& c, ErrorKind kind, const std::string& source) {
  check_bound(c.num_virtual_tokens, 1, kMaxVirtualTokens, "num_virtual_tokens", kind, source);
  check_bound(c.encoder_hidden_size, 0, kMaxEncoderHiddenSize, "encoder_hidden_size", kind, source);
  check_bound(c.encoder_num_layers, 1, kMaxEncoderLayers, "encoder_num_layers", kind, source);
  check_bound(c.num_tasks, 1, kMaxTasks, "num_tasks", kind, source);
  check_bound(c.num_ranks, 1, kMaxRanks, "num_ranks", kind, source);
}

std::vector<ExpectedTensor> expected_parameters(const MethodConfig& c, const model::ModelConfig& m) {
  const ExpectedDim tokens{c.num_virtual_tokens, "num_virtual_tokens"};
  const ExpectedDim hidden{m.hidden_size, "the model's hidden_size"};
  std::vector<ExpectedTensor> out;
  switch (c.kind) {
    case MethodKind::PromptTuning:
      out.push_back({"embedding.weight", {tokens, hidden}});
      break;
    case MethodKind::PrefixTuning: {
      // Mirrors PrefixTuning's constructor: a flat (n, 2 L token_dim) table, or a (n, token_dim)
      // table and a two-Linear projection when projected (and not loaded encoded-only).
      const ExpectedDim token_dim{m.head_dim * m.num_kv_heads, "token_dim (head_dim * num_key_value_heads)"};
      const ExpectedDim flat{2 * m.num_layers * token_dim.size, "2 * num_layers * token_dim"};
      const ExpectedDim encoder = c.encoder_hidden_size > 0 ? ExpectedDim{c.encoder_hidden_size, "encoder_hidden_size"}
                                                            : ExpectedDim{token_dim.size, "encoder_hidden_size (0: token_dim)"};
      if (c.prefix_projection && !c.encoded_only) {
        out.push_back({"embedding.weight", {tokens, token_dim}});
        add_linear(out, "transform.0", token_dim, encoder);
        add_linear(out, "transform.2", encoder, flat);
      } else {
        out.push_back({"embedding.weight", {tokens, flat}});
      }
      break;
    }
    case MethodKind::PTuning: {
      // Mirrors PTuning's constructor and parameters(): table, LSTM layers (forward then reverse
      // direction), then the MLP head's Linears at Sequential indices 0, 2 (, 4).
      out.push_back({"embedding.weight", {tokens, hidden}});
      if (c.encoded_only) break;
      const ExpectedDim h = c.encoder_hidden_size > 0 ? ExpectedDim{c.encoder_hidden_size, "encoder_hidden_size"}
                                                      : ExpectedDim{m.hidden_size, "encoder_hidden_size (0: hidden_size)"};
      if (c.encoder_type == EncoderType::Lstm) {
        const std::string of_h = h.origin + " (" + std::to_string(h.size) + ")";
        const ExpectedDim gates{4 * h.size, "4 * " + of_h};
        const ExpectedDim both{2 * h.size, "2 * " + of_h};
        for (int64_t layer = 0; layer < c.encoder_num_layers; ++layer) {
          const ExpectedDim in = layer == 0 ? hidden : both;
          for (const char* suffix : {"", "_reverse"}) {
            const std::string s = std::to_string(layer) + suffix;
            out.push_back({"lstm_head.weight_ih_l" + s, {gates, in}});
            out.push_back({"lstm_head.weight_hh_l" + s, {gates, h}});
            out.push_back({"lstm_head.bias_ih_l" + s, {gates}});
            out.push_back({"lstm_head.bias_hh_l" + s, {gates}});
          }
        }
        add_linear(out, "mlp_head.0", both, both);
        add_linear(out, "mlp_head.2", both, hidden);
      } else {
        add_linear(out, "mlp_head.0", hidden, h);
        add_linear(out, "mlp_head.2", h, h);
        add_linear(out, "mlp_head.4", h, hidden);
      }
      break;
    }
    case MethodKind::MultitaskPromptTuning: {
      const ExpectedDim tasks{c.num_tasks, "num_tasks"}, ranks{c.num_ranks, "num_ranks"};
      out.push_back({"embedding.weight", {tokens, hidden}});
      out.push_back({"prefix_task_cols", {tasks, tokens, ranks}});
      out.push_back({"prefix_task_rows", {tasks, ranks, hidden}});
      break;
    }
  }
  return out;
}

std::uint64_t float32_bytes(const std::vector<ExpectedTensor>& tensors) {
  std::uint64_t total = 0;
  for (const auto& tensor : tensors) {
    std::uint64_t bytes = sizeof(float);
    for (const auto& dim : tensor.dims) bytes = saturating_multiply(bytes, static_cast<std::uint64_t>(std::max<int64_t>(dim.size, 0)));
    total = bytes > std::numeric_limits<std::uint64_t>::max() - total ? std::numeric_limits<std::uint64_t>::max() : total + bytes;
  }
  return total;
}

std::uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page_size = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return std::numeric_limits<std::uint64_t>::max();
  return saturating_multiply(static_cast<std::uint64_t>(pages), static_cast<std::uint64_t>(page_size));
}

void check_fits_in_memory(const std::vector<ExpectedTensor>& tensors, const std::string& source) {
  const std::uint64_t needed = float32_bytes(tensors), available = physical_memory_bytes();
  if (needed <= available) return;
  std::string largest;
  std::uint64_t largest_bytes = 0;
  for (const auto& tensor : tensors) {
    const std::uint64_t bytes = float32_bytes({tensor});
    if (bytes > largest_bytes) {
      largest_bytes = bytes;
      largest = tensor.name + " " + shape_text(tensor.shape());
    }
  }
  const std::string message = prefixed(
      source, "the adapter's trainable tensors need " +
                  (needed == std::numeric_limits<std::uint64_t>::max() ? std::string("more than 2^64") : std::to_string(needed)) +
                  " bytes (largest: " + largest + "), more than this machine's " + std::to_string(available) +
                  " bytes of physical memory");
  fail(ErrorKind::OutOfMemory, message);
}

void check_declared_tensors(const std::vector<ExpectedTensor>& expected, const std::vector<DeclaredTensor>& declared,
                            const std::string& source) {
  for (const auto& want : expected) {
    const DeclaredTensor* found = nullptr;
    for (const auto& have : declared)
      if (have.name == want.name) found = &have;
    if (!found) fail(ErrorKind::Format, prefixed(source, "lacks tensor \"" + want.name + "\""));
    const std::string what = "tensor \"" + found->name_in_file + "\" of shape " + shape_text(found->shape);
    if (found->shape.size() != want.dims.size())
      fail(ErrorKind::ShapeMismatch, prefixed(source, what + " should have " + std::to_string(want.dims.size()) +
                                                          " dimensions, shape " + shape_text(want.shape())));
    for (std::size_t i = 0; i < want.dims.size(); ++i)
      if (found->shape[i] != want.dims[i].size)
        fail(ErrorKind::ShapeMismatch,
             prefixed(source, want.dims[i].origin + " = " + std::to_string(want.dims[i].size) + " does not match " + what +
                                  " (dimension " + std::to_string(i) + " is " + std::to_string(found->shape[i]) + ")"));
  }
}

}  // namespace sp::methods
