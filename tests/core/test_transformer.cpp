// The frozen transformer's prefix-tuning inputs against transformers: a per-layer key/value prefix
// (used as already-rotated cache entries, positions continuing after it) and explicit position ids,
// with right padding. Reference files from tests/reference/prefix_reference.py. Compared by the
// suites' one tolerance rule (tests/c/tolerance_rule.h).
//
//   test_transformer <models-folder> <reference-folder>
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "io/file_util.h"
#include "model/transformer.h"

// cmocka last: it defines a fail() macro that would clash with sp::fail in the headers above.
extern "C" {
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tolerance_rule.h"
}

namespace {

constexpr int64_t kBatch = 2, kSeqLen = 6, kPrefix = 3;  // shared with prefix_reference.py
std::string models_root, reference_root;
double worst_ratio = 0;  // figure / bound over every comparison, printed at the end

at::Tensor read_tensor(const std::string& path, at::ScalarType type, std::vector<int64_t> shape) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_msg("cannot open %s", path.c_str());
  at::Tensor tensor = at::empty(shape, type);
  in.read(static_cast<char*>(tensor.data_ptr()), static_cast<std::streamsize>(tensor.nbytes()));
  if (in.gcount() != static_cast<std::streamsize>(tensor.nbytes()))
    fail_msg("%s is shorter than expected", path.c_str());
  return tensor;
}

void check_variant(const char* variant) {
  const std::string folder = sp::io::join_path(models_root, variant);
  const std::string ref = sp::io::join_path(reference_root, variant);
  auto model = sp::model::Transformer::load(folder, at::kCPU, at::kFloat);
  const auto& c = model->config();
  at::Tensor prefix =
      read_tensor(ref + "/prefix_kv.f32", at::kFloat, {c.num_layers, 2, kBatch, c.num_kv_heads, kPrefix, c.head_dim});
  at::Tensor ids = read_tensor(ref + "/input_ids.i32", at::kInt, {kBatch, kSeqLen}).to(at::kLong);
  at::Tensor mask = read_tensor(ref + "/attention_mask.i32", at::kInt, {kBatch, kPrefix + kSeqLen});
  at::Tensor positions = read_tensor(ref + "/position_ids.i64", at::kLong, {kBatch, kSeqLen});

  std::vector<sp::model::KeyValuePrefix> kv;
  for (int64_t layer = 0; layer < c.num_layers; ++layer) kv.push_back({prefix[layer][0], prefix[layer][1]});
  sp::model::ForwardInputs inputs;
  inputs.embeddings = model->embed_tokens(ids);
  inputs.attention_mask = mask;
  inputs.kv_prefix = &kv;

  c10::InferenceMode guard;
  struct Case {
    const char* label;
    const char* file;
    bool explicit_positions;
  } cases[] = {{"key/value prefix, default positions", "prefix_logits.f32", false},
               {"key/value prefix, explicit position ids", "positioned_logits.f32", true}};
  for (const auto& test_case : cases) {
    inputs.position_ids = test_case.explicit_positions ? positions : at::Tensor();
    at::Tensor logits = model->lm_head(model->forward(inputs));
    at::Tensor expected = read_tensor(ref + "/" + test_case.file, at::kFloat, {kBatch, kSeqLen, c.vocab_size});
    const double worst = (logits - expected).abs().max().item<double>();
    const double length =
        tolerance_rule_forward_length(double(c.num_layers), double(c.hidden_size), double(c.num_heads),
                                      double(c.head_dim), double(c.intermediate_size), double(kPrefix + kSeqLen), 0.0);
    const double bound = tolerance_rule_bound(std::ldexp(1.0, -24), length, expected.abs().max().item<double>());
    std::printf("    %-10s %-40s max |diff| = %.3g (bound %.3g, ratio %.3g)\n", variant, test_case.label, worst, bound,
                worst / bound);
    worst_ratio = std::max(worst_ratio, worst / bound);
    if (!(worst <= bound))
      fail_msg("%s, %s: max |diff| %.3g exceeds the rule's %.3g", variant, test_case.label, worst, bound);
  }
}

void llama_prefix_and_positions_match_transformers(void**) { check_variant("llama"); }
void llama_tied_prefix_and_positions_match_transformers(void**) { check_variant("llama-tied"); }
void qwen2_prefix_and_positions_match_transformers(void**) { check_variant("qwen2"); }
void gpt2_prefix_and_positions_match_transformers(void**) { check_variant("gpt2"); }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <models-folder> <reference-folder>\n", argv[0]);
    return 2;
  }
  models_root = argv[1];
  reference_root = argv[2];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(llama_prefix_and_positions_match_transformers),
      cmocka_unit_test(llama_tied_prefix_and_positions_match_transformers),
      cmocka_unit_test(qwen2_prefix_and_positions_match_transformers),
      cmocka_unit_test(gpt2_prefix_and_positions_match_transformers),
  };
  const int failures = cmocka_run_group_tests_name("transformer prefix and position inputs", tests, nullptr, nullptr);
  std::printf("transformer_inputs: worst figure/bound = %.3g\n", worst_ratio);
  return failures;
}
