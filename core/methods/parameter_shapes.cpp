#include "methods/parameter_shapes.h"
#include "util/shape_text.h"

#include <unistd.h>

#include <limits>

namespace sp::methods {

namespace {

std::string prefixed(const std::string& source, const std::string& message) {
  return source.empty() ? message : source + ": " + message;
}

std::uint64_t saturating_multiply(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return std::numeric_limits<std::uint64_t>::max();
  return a * b;
}

}  // namespace

std::vector<int64_t> ExpectedTensor::shape() const {
  std::vector<int64_t> sizes;
  for (const auto& dim : dims) sizes.push_back(dim.size);
  return sizes;
}

ExpectedDim virtual_tokens_dim(const MethodConfig& config) { return {config.num_virtual_tokens, "num_virtual_tokens"}; }

ExpectedDim table_rows_dim(const MethodConfig& config) {
  if (config.num_transformer_submodules == 1) return virtual_tokens_dim(config);
  return {config.total_virtual_tokens(), "num_virtual_tokens * num_transformer_submodules"};
}

ExpectedDim hidden_size_dim(const model::ModelConfig& model) { return {model.hidden_size, "the model's hidden_size"}; }

void add_linear(std::vector<ExpectedTensor>& out, const std::string& prefix, ExpectedDim in, ExpectedDim out_dim) {
  out.push_back({prefix + ".weight", {out_dim, in}});
  out.push_back({prefix + ".bias", {out_dim}});
}

std::uint64_t float32_bytes(const std::vector<ExpectedTensor>& tensors) {
  std::uint64_t total = 0;
  for (const auto& tensor : tensors) {
    std::uint64_t bytes = sizeof(float);
    for (const auto& dim : tensor.dims)
      bytes = saturating_multiply(bytes, static_cast<std::uint64_t>(std::max<int64_t>(dim.size, 0)));
    total = bytes > std::numeric_limits<std::uint64_t>::max() - total ? std::numeric_limits<std::uint64_t>::max()
                                                                      : total + bytes;
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
  const std::string message =
      prefixed(source, "the adapter's trainable tensors need " +
                           (needed == std::numeric_limits<std::uint64_t>::max() ? std::string("more than 2^64")
                                                                                : std::to_string(needed)) +
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
             prefixed(source, want.dims[i].origin + " = " + std::to_string(want.dims[i].size) + " does not match " +
                                  what + " (dimension " + std::to_string(i) + " is " + std::to_string(found->shape[i]) +
                                  ")"));
  }
}

}  // namespace sp::methods
