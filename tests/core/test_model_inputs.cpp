// Input preparation on a tiny llama: prompting::with_default_labels (transformers' causal-LM
// collator default: labels = ids, -100 under padding) and prompting::ModelInputs (prompt methods'
// virtual tokens run once per distinct prompt into a per-layer key/value prefix, n ones in front of
// the mask; prefix tuning's per-layer key/value prefix in PEFT's layout and a mask grown by n).
//
//   test_model_inputs <models-folder>
#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "io/file_util.h"
#include "methods/factory.h"
#include "methods/method.h"
#include "model/transformer.h"
#include "objectives/causal_lm.h"
#include "prompting/batch.h"
#include "prompting/losses.h"
#include "prompting/model_inputs.h"
#include "softprompt/softprompt.h"
#include "tolerance_rule.h"

#include "core_test_support.h"  // last: it includes cmocka

namespace {

std::string models_root;
constexpr int64_t kBatch = 2, kSeqLen = 4, kVirtual = 3;

std::shared_ptr<const sp::model::Transformer> load_llama(at::ScalarType dtype = at::kFloat) {
  return sp::model::Transformer::load(sp::io::join_path(models_root, "llama"), at::kCPU, dtype);
}

sp_adapter_params params_for(sp_method method) { return core_test::adapter_params(method, kVirtual, 1234); }

std::unique_ptr<sp::methods::SoftPromptMethod> make_method(const sp_adapter_params& params,
                                                           const sp::model::Transformer& model) {
  return sp::methods::create_method(sp::methods::config_from_params(params, model.config()), model);
}

// Row 0 full, row 1 right-padded by one; labels with an ignored entry.
sp::prompting::Batch sample_batch(bool with_mask, bool with_labels) {
  sp::prompting::Batch batch;
  batch.input_ids = at::tensor(std::vector<int64_t>{5, 17, 42, 99, 7, 8, 250, 0}, at::kLong).reshape({kBatch, kSeqLen});
  if (with_mask)
    batch.attention_mask =
        at::tensor(std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 0}, at::kLong).reshape({kBatch, kSeqLen});
  if (with_labels)
    batch.labels =
        at::tensor(std::vector<int64_t>{5, 17, -100, 99, 7, 8, 250, -100}, at::kLong).reshape({kBatch, kSeqLen});
  return batch;
}

void assert_shape(const at::Tensor& t, std::vector<int64_t> shape) {
  assert_true(t.defined());
  if (t.sizes() != at::IntArrayRef(shape)) {
    std::string want;
    for (int64_t s : shape) want += std::to_string(s) + " ";
    fail_msg("shape %s, expected (%s)", c10::str(t.sizes()).c_str(), want.c_str());
  }
}

void assert_equal_tensors(const at::Tensor& a, const at::Tensor& b) {
  assert_true(a.sizes() == b.sizes());
  assert_true(a.scalar_type() == b.scalar_type());
  assert_true(at::equal(a, b));
}

// ---------------------------------------------------------------------------------------------

void default_labels_are_ids_with_padding_ignored(void**) {
  const sp::prompting::Batch batch = sample_batch(true, false);
  const sp::prompting::Batch filled = sp::prompting::with_default_labels(batch);
  const at::Tensor expected =
      at::tensor(std::vector<int64_t>{5, 17, 42, 99, 7, 8, 250, -100}, at::kLong).reshape({kBatch, kSeqLen});
  assert_equal_tensors(filled.labels, expected);
  // The caller's ids are not touched (the labels are a copy, not a view).
  assert_equal_tensors(
      batch.input_ids,
      at::tensor(std::vector<int64_t>{5, 17, 42, 99, 7, 8, 250, 0}, at::kLong).reshape({kBatch, kSeqLen}));
  assert_true(filled.labels.data_ptr() != batch.input_ids.data_ptr());
  assert_true(at::equal(filled.input_ids, batch.input_ids) && at::equal(filled.attention_mask, batch.attention_mask));

  // Without a mask every position is a target.
  const sp::prompting::Batch unmasked = sp::prompting::with_default_labels(sample_batch(false, false));
  assert_equal_tensors(unmasked.labels, unmasked.input_ids);
  assert_true(unmasked.labels.data_ptr() != unmasked.input_ids.data_ptr());

  // Given labels are kept as they are.
  const sp::prompting::Batch labelled = sample_batch(true, true);
  const sp::prompting::Batch kept = sp::prompting::with_default_labels(labelled);
  assert_equal_tensors(kept.labels, labelled.labels);
}

void base_model_inputs_are_the_token_embeddings(void**) {
  auto model = load_llama();
  c10::InferenceMode guard;
  const sp::prompting::Batch batch = sample_batch(true, true);
  sp::prompting::ModelInputs inputs(*model, nullptr, batch);
  const sp::model::ForwardInputs f = inputs.forward_inputs();
  assert_int_equal(inputs.num_prepended(), 0);
  assert_shape(f.embeddings, {kBatch, kSeqLen, model->config().hidden_size});
  assert_true(at::equal(f.embeddings, model->embed_tokens(batch.input_ids)));
  assert_true(at::equal(f.attention_mask, batch.attention_mask));
  assert_true(at::equal(inputs.labels(), batch.labels));
  assert_true(f.kv_prefix == nullptr);
}

// Prompt methods: the virtual tokens (positions 0 .. n-1 of every row, attending only to each
// other) become a key/value prefix computed once per distinct prompt. Each layer's prefix must hold
// the keys and values those positions get in one call over [prompt rows, tokens] - the input PEFT
// builds - within the tolerance rule (tests/c/tolerance_rule.h: u of the dtype, the forward pass's
// reduction length, the magnitude of the reference); the caller's tokens, mask and labels follow
// with no positions added.
void check_prepending_method(const sp::model::Transformer& model, const sp::methods::SoftPromptMethod& method,
                             const at::Tensor& expected_rows /* (B, n, hidden) in the model dtype */,
                             sp::prompting::Batch batch) {
  const auto& c = model.config();
  sp::prompting::ModelInputs inputs(model, &method, batch);
  const sp::model::ForwardInputs f = inputs.forward_inputs();
  // One output position in front (the last virtual one predicts the first token), one -100 label.
  assert_int_equal(inputs.num_prepended(), 1);
  assert_true(at::equal(f.embeddings, model.embed_tokens(batch.input_ids)));
  assert_true(at::equal(inputs.labels(), at::constant_pad_nd(batch.labels, {1, 0}, -100)));
  assert_true(at::equal(inputs.caller_mask(), batch.attention_mask));
  at::Tensor mask = f.attention_mask;
  assert_shape(mask, {kBatch, kVirtual + kSeqLen});
  assert_true(at::equal(mask.slice(1, 0, kVirtual), at::ones({kBatch, kVirtual}, at::kLong)));
  assert_true(at::equal(mask.slice(1, kVirtual), batch.attention_mask));

  sp::model::ForwardInputs whole;
  whole.embeddings = at::cat({expected_rows, model.embed_tokens(batch.input_ids)}, 1);
  whole.attention_mask = mask;
  std::vector<sp::model::KeyValuePrefix> keys;
  whole.keys_out = &keys;
  const at::Tensor whole_hidden = model.forward(whole);
  assert_non_null(f.kv_prefix);
  assert_int_equal(f.kv_prefix->size(), c.num_layers);
  assert_int_equal(keys.size(), c.num_layers);
  const double u = model.dtype() == at::kFloat ? std::ldexp(1.0, -24) : std::ldexp(1.0, -8);
  const double length = tolerance_rule_forward_length(static_cast<double>(c.num_layers), c.hidden_size, c.num_heads,
                                                      c.head_dim, c.intermediate_size, kVirtual + kSeqLen, 0);
  auto expect_close = [&](const at::Tensor& ours, const at::Tensor& reference, const char* what) {
    assert_int_equal(ours.scalar_type(), model.dtype());
    const at::Tensor expected = reference.to(at::kFloat);
    const double figure = (ours.to(at::kFloat) - expected).abs().max().item<double>();
    const double bound = tolerance_rule_bound(u, length, expected.abs().max().item<double>());
    if (!(figure <= bound)) fail_msg("%s: difference %g exceeds the bound %g", what, figure, bound);
  };
  for (std::size_t layer = 0; layer < keys.size(); ++layer) {
    const sp::model::KeyValuePrefix& prefix = (*f.kv_prefix)[layer];
    assert_shape(prefix.key, {kBatch, c.num_kv_heads, kVirtual, c.head_dim});
    assert_shape(prefix.value, {kBatch, c.num_kv_heads, kVirtual, c.head_dim});
    expect_close(prefix.key, keys[layer].key.narrow(2, 0, kVirtual), "prefix keys");
    expect_close(prefix.value, keys[layer].value.narrow(2, 0, kVirtual), "prefix values");
  }
  // The outputs: the whole call's from the last virtual position on.
  const at::Tensor outputs = inputs.output_hidden(model.forward(f));
  assert_shape(outputs, {kBatch, 1 + kSeqLen, c.hidden_size});
  expect_close(outputs, whole_hidden.narrow(1, kVirtual - 1, 1 + kSeqLen), "output hidden states");

  // Without mask and labels nothing is invented.
  sp::prompting::Batch bare_batch = batch;
  bare_batch.attention_mask = at::Tensor();
  bare_batch.labels = at::Tensor();
  sp::prompting::ModelInputs bare(model, &method, bare_batch);
  assert_false(bare.forward_inputs().attention_mask.defined());
  assert_false(bare.labels().defined());
  assert_false(bare.caller_mask().defined());
  assert_shape(bare.forward_inputs().embeddings, {kBatch, kSeqLen, c.hidden_size});
  assert_non_null(bare.forward_inputs().kv_prefix);
}

void prompt_tuning_table_becomes_a_key_value_prefix(void**) {
  for (at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
    auto model = load_llama(dtype);
    auto method = make_method(params_for(SP_METHOD_PROMPT_TUNING), *model);
    c10::InferenceMode guard;
    const auto parameters = method->parameters();
    assert_int_equal(parameters.size(), 1);
    assert_string_equal(parameters[0].first.c_str(), "embedding.weight");
    const at::Tensor table = parameters[0].second;
    assert_shape(table, {kVirtual, model->config().hidden_size});
    assert_int_equal(table.scalar_type(), at::kFloat);  // float32 master copy, cast on the way in
    check_prepending_method(*model, *method, table.to(dtype).unsqueeze(0).expand({kBatch, -1, -1}),
                            sample_batch(true, true));
  }
}

void p_tuning_and_mpt_prompts_become_key_value_prefixes(void**) {
  auto model = load_llama();
  c10::InferenceMode guard;
  {
    auto method = make_method(params_for(SP_METHOD_P_TUNING), *model);
    // The encoder's output, independent of the batch row (no dropout outside training).
    sp::methods::PromptRequest request;
    request.batch_size = kBatch;
    const at::Tensor rows = method->contribute(request).prepend_embeddings;
    assert_shape(rows, {kBatch, kVirtual, model->config().hidden_size});
    assert_true(at::equal(rows[0], rows[1]));
    check_prepending_method(*model, *method, rows.to(model->dtype()), sample_batch(true, true));
  }
  {
    sp_adapter_params params = params_for(SP_METHOD_MULTITASK_PROMPT_TUNING);
    params.num_tasks = 2;
    params.num_ranks = 2;
    auto method = make_method(params, *model);
    sp::prompting::Batch batch = sample_batch(true, true);
    batch.task_ids = at::tensor(std::vector<int64_t>{1, 0}, at::kLong);
    // PEFT's MPT prompt: table * (cols[task] @ rows[task]), per row's task.
    const auto parameters = method->parameters();
    at::Tensor table, cols, rows;
    for (const auto& [name, tensor] : parameters) {
      if (name == "embedding.weight") table = tensor;
      if (name == "prefix_task_cols") cols = tensor;
      if (name == "prefix_task_rows") rows = tensor;
    }
    assert_true(table.defined() && cols.defined() && rows.defined());
    std::vector<at::Tensor> expected;
    for (int64_t b = 0; b < kBatch; ++b) {
      const int64_t task = batch.task_ids[b].item<int64_t>();
      expected.push_back(table * at::matmul(cols[task], rows[task]));
    }
    check_prepending_method(*model, *method, at::stack(expected), batch);
    // Rows of the same task share one prompt.
    batch.task_ids = at::tensor(std::vector<int64_t>{1, 1}, at::kLong);
    check_prepending_method(*model, *method, at::stack({expected[0], expected[0]}), batch);
  }
}

void prefix_tuning_adds_a_key_value_prefix(void**) {
  auto model = load_llama();
  const auto& c = model->config();
  auto method = make_method(params_for(SP_METHOD_PREFIX_TUNING), *model);
  c10::InferenceMode guard;
  const sp::prompting::Batch batch = sample_batch(true, true);
  sp::prompting::ModelInputs inputs(*model, method.get(), batch);
  const sp::model::ForwardInputs f = inputs.forward_inputs();
  assert_int_equal(inputs.num_prepended(), 0);
  assert_true(at::equal(f.embeddings, model->embed_tokens(batch.input_ids)));
  assert_true(at::equal(inputs.labels(), batch.labels));  // no positions added, no labels added

  at::Tensor mask = f.attention_mask;
  assert_shape(mask, {kBatch, kVirtual + kSeqLen});
  assert_true(at::equal(mask.slice(1, 0, kVirtual), at::ones({kBatch, kVirtual}, at::kLong)));
  assert_true(at::equal(mask.slice(1, kVirtual), batch.attention_mask));

  assert_non_null(f.kv_prefix);
  assert_int_equal(f.kv_prefix->size(), c.num_layers);
  // PEFT's layout: the (n, 2 L H hd) table viewed as (n, 2L, H, hd); block 2l is layer l's keys,
  // 2l + 1 its values, each (B, H, n, hd).
  const auto parameters = method->parameters();
  assert_string_equal(parameters[0].first.c_str(), "embedding.weight");
  const at::Tensor table = parameters[0].second;
  assert_shape(table, {kVirtual, 2 * c.num_layers * c.num_kv_heads * c.head_dim});
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    const sp::model::KeyValuePrefix& kv = (*f.kv_prefix)[static_cast<size_t>(layer)];
    assert_shape(kv.key, {kBatch, c.num_kv_heads, kVirtual, c.head_dim});
    assert_shape(kv.value, {kBatch, c.num_kv_heads, kVirtual, c.head_dim});
    for (int64_t b = 0; b < kBatch; ++b)
      for (int64_t h = 0; h < c.num_kv_heads; ++h)
        for (int64_t j = 0; j < kVirtual; ++j) {
          const int64_t key_at = ((2 * layer) * c.num_kv_heads + h) * c.head_dim;
          const int64_t value_at = ((2 * layer + 1) * c.num_kv_heads + h) * c.head_dim;
          assert_true(at::equal(kv.key[b][h][j], table[j].slice(0, key_at, key_at + c.head_dim)));
          assert_true(at::equal(kv.value[b][h][j], table[j].slice(0, value_at, value_at + c.head_dim)));
        }
  }
}

// Training and evaluation pack a padded batch's rows one after another without the padding
// (ModelInputs(..., pack = true)) when no padded position's output is a prediction anyone reads;
// the losses must then be those of the padded batch, by the tolerance rule (u = 2^-24, the forward
// pass's reduction length plus the vocabulary, the magnitude of the padded figures).
void padded_rows_are_packed_where_that_changes_no_loss(void**) {
  auto model = load_llama();
  const auto& c = model->config();
  c10::InferenceMode guard;
  auto prompt = make_method(params_for(SP_METHOD_PROMPT_TUNING), *model);
  auto prefix = make_method(params_for(SP_METHOD_PREFIX_TUNING), *model);
  const double length = tolerance_rule_forward_length(static_cast<double>(c.num_layers), c.hidden_size, c.num_heads,
                                                      c.head_dim, c.intermediate_size, kVirtual + kSeqLen, 0) +
                        static_cast<double>(c.vocab_size);
  for (const sp::methods::SoftPromptMethod* method :
       {static_cast<sp::methods::SoftPromptMethod*>(nullptr), prompt.get(), prefix.get()}) {
    // Right padding (row 1 has 2 real tokens), default labels: packed.
    sp::prompting::Batch batch = sample_batch(false, false);
    batch.attention_mask =
        at::tensor(std::vector<int64_t>{1, 1, 1, 1, 1, 1, 0, 0}, at::kLong).reshape({kBatch, kSeqLen});
    batch = sp::prompting::with_default_labels(batch);
    sp::prompting::ModelInputs packed(*model, method, batch, false, true);
    sp::prompting::ModelInputs padded(*model, method, batch, false, false);
    assert_true(packed.packed());
    assert_false(padded.packed());
    const sp::model::ForwardInputs f = packed.forward_inputs();
    assert_shape(f.embeddings, {1, 6, c.hidden_size});
    assert_true(f.row_lengths == std::vector<int64_t>({4, 2}));
    assert_false(f.attention_mask.defined());
    const int64_t offset = method ? kVirtual : 0;
    assert_true(at::equal(f.position_ids.reshape({-1}),
                          at::tensor(std::vector<int64_t>{0, 1, 2, 3, 0, 1}, at::kLong) + offset));
    const auto packed_losses = sp::prompting::input_losses(*model, packed, model->forward(f));
    const auto padded_losses = sp::prompting::input_losses(*model, padded, model->forward(padded.forward_inputs()));
    const at::Tensor expected_mean = sp::objectives::mean_loss(padded_losses);
    const at::Tensor expected_rows = sp::objectives::row_log_likelihood(padded_losses, kBatch);
    for (const auto& [ours, expected] :
         {std::pair{sp::objectives::mean_loss(packed_losses), expected_mean},
          std::pair{sp::objectives::row_log_likelihood(packed_losses, kBatch), expected_rows}}) {
      const double figure = (ours - expected).abs().max().item<double>();
      const double bound = tolerance_rule_bound(std::ldexp(1.0, -24), length, expected.abs().max().item<double>());
      if (!(figure <= bound)) fail_msg("packed vs padded: difference %g exceeds the bound %g", figure, bound);
    }

    // Left padding: the last pad predicts the row's first token (PEFT computes that loss): padded.
    sp::prompting::Batch left = sample_batch(false, false);
    left.attention_mask =
        at::tensor(std::vector<int64_t>{1, 1, 1, 1, 0, 0, 1, 1}, at::kLong).reshape({kBatch, kSeqLen});
    assert_false(
        sp::prompting::ModelInputs(*model, method, sp::prompting::with_default_labels(left), false, true).packed());
    // A label after a pad that a padded position would predict: padded.
    sp::prompting::Batch read_pad = batch;
    read_pad.labels = batch.labels.clone();
    read_pad.labels[1][3] = 9;
    assert_false(sp::prompting::ModelInputs(*model, method, read_pad, false, true).packed());
    // No padding: nothing to pack.
    assert_false(sp::prompting::ModelInputs(*model, method,
                                            sp::prompting::with_default_labels(sample_batch(false, false)), false, true)
                     .packed());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (!core_test::read_models_folder(argc, argv, models_root)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(default_labels_are_ids_with_padding_ignored),
      cmocka_unit_test(base_model_inputs_are_the_token_embeddings),
      cmocka_unit_test(prompt_tuning_table_becomes_a_key_value_prefix),
      cmocka_unit_test(p_tuning_and_mpt_prompts_become_key_value_prefixes),
      cmocka_unit_test(prefix_tuning_adds_a_key_value_prefix),
      cmocka_unit_test(padded_rows_are_packed_where_that_changes_no_loss),
  };
  return cmocka_run_group_tests_name("model inputs", tests, nullptr, nullptr);
}
