// bench_gguf_dequantize: times the GGUF reader alone, without LibTorch: opening (mapping and
// validating) a .gguf file and dequantizing every tensor to float32 into a fresh buffer per tensor,
// as sp_model_create does before it builds the model. Prints one JSON line; bench/compare_gguf.py
// runs it next to the `gguf` Python package's GGUFReader and gguf.quants.dequantize, which
// transformers' gguf_file= loading uses.
//
//   bench_gguf_dequantize <file.gguf> [repeats]
//
// Figures: open_s (GgufFile::open), dequantize_s (every tensor), each the best of `repeats` runs;
// values, the number of float32 values written.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <vector>

#include "io/gguf.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <file.gguf> [repeats]\n", argv[0]);
    return 2;
  }
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 3;
  if (repeats < 1) {
    std::fprintf(stderr, "repeats must be >= 1\n");
    return 2;
  }
  try {
    double open_s = 1e30;
    double dequantize_s = 1e30;
    long long values = 0;
    for (int i = 0; i < repeats; ++i) {
      auto start = std::chrono::steady_clock::now();
      std::shared_ptr<const sp::io::GgufFile> file = sp::io::GgufFile::open(argv[1]);
      const double opened = seconds_since(start);
      if (opened < open_s) open_s = opened;

      start = std::chrono::steady_clock::now();
      values = 0;
      for (const sp::io::GgufTensor& tensor : file->tensors()) {
        // A fresh buffer per tensor, as a loader that keeps every tensor needs (and as numpy allocates).
        std::vector<float> out(static_cast<std::size_t>(tensor.numel()));
        sp::io::dequantize(tensor, out.data());
        values += tensor.numel();
      }
      const double dequantized = seconds_since(start);
      if (dequantized < dequantize_s) dequantize_s = dequantized;
    }
    std::printf("{\"open_s\": %.6f, \"dequantize_s\": %.6f, \"values\": %lld}\n", open_s, dequantize_s, values);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_gguf_dequantize: %s\n", error.what());
    return 1;
  }
  return 0;
}
