// The method table and PEFT's adapter_config.json, both ways, on a tiny llama (64 wide, 4 heads,
// 2 key/value heads of 16, 2 layers, 256 tokens):
//   - one row per sp_method, found again by its PEFT type name;
//   - sp_adapter_params -> MethodConfig -> method -> adapters::peft_config_json -> parse_peft_config
//     gives the same settings back, with exactly the keys of PEFT's config class and the values PEFT
//     completes from the model (token_dim, num_attention_heads, encoder_hidden_size);
//   - the tensors each method allocates have the shapes of PEFT's modules;
//   - files for another method family or another model size are refused with the right kind.
//
//   test_method_configs <models-folder>
#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "adapters/peft_config.h"
#include "io/file_util.h"
#include "methods/factory.h"
#include "methods/method.h"
#include "methods/registry.h"
#include "model/transformer.h"
#include "softprompt/softprompt.h"
#include "util/errors.h"

#include "core_test_support.h"  // last: it includes cmocka

namespace {

using core_test::expect_error;

using sp::methods::MethodConfig;

std::string models_root;

std::shared_ptr<const sp::model::Transformer> load(const char* variant) {
  return sp::model::Transformer::load(sp::io::join_path(models_root, variant), at::kCPU, at::kFloat);
}

sp_adapter_params params_for(sp_method method, int32_t n = 5) { return core_test::adapter_params(method, n, 42); }

// The declared fields of PEFT 0.21.2's config classes (dataclasses.fields(...)), which PEFT writes
// in full to adapter_config.json.
const std::vector<std::string> kPromptLearningFields = {"auto_mapping",
                                                        "base_model_name_or_path",
                                                        "inference_mode",
                                                        "modules_to_save",
                                                        "num_attention_heads",
                                                        "num_layers",
                                                        "num_transformer_submodules",
                                                        "num_virtual_tokens",
                                                        "peft_type",
                                                        "peft_version",
                                                        "revision",
                                                        "task_type",
                                                        "token_dim"};

std::set<std::string> peft_fields(sp_method method) {
  std::set<std::string> fields(kPromptLearningFields.begin(), kPromptLearningFields.end());
  std::vector<std::string> own;
  switch (method) {
    case SP_METHOD_PROMPT_TUNING:  // PromptTuningConfig
      own = {"prompt_tuning_init", "prompt_tuning_init_text", "tokenizer_kwargs", "tokenizer_name_or_path"};
      break;
    case SP_METHOD_PREFIX_TUNING:  // PrefixTuningConfig
      own = {"encoder_hidden_size", "init_weights", "prefix_projection"};
      break;
    case SP_METHOD_P_TUNING:  // PromptEncoderConfig
      own = {"encoder_dropout", "encoder_hidden_size", "encoder_num_layers", "encoder_reparameterization_type"};
      break;
    case SP_METHOD_MULTITASK_PROMPT_TUNING:  // MultitaskPromptTuningConfig
      own = {"prompt_tuning_init",
             "prompt_tuning_init_text",
             "tokenizer_kwargs",
             "tokenizer_name_or_path",
             "num_ranks",
             "num_tasks",
             "prompt_tuning_init_state_dict_path",
             "prompt_tuning_init_task"};
      break;
  }
  fields.insert(own.begin(), own.end());
  return fields;
}

// PEFT's completion of a prompt-learning config from the model (utils/other.py,
// _prepare_prompt_learning_config): token_dim = hidden_size and num_attention_heads = the model's
// heads, except prefix tuning on a model with key/value heads: head_dim * kv_heads and kv_heads.
int64_t peft_token_dim(sp_method method, const sp::model::ModelConfig& m) {
  return method == SP_METHOD_PREFIX_TUNING ? m.head_dim * m.num_kv_heads : m.hidden_size;
}
int64_t peft_heads(sp_method method, const sp::model::ModelConfig& m) {
  return method == SP_METHOD_PREFIX_TUNING ? m.num_kv_heads : m.num_heads;
}

struct RoundTrip {
  MethodConfig created;  // as the method holds it
  nlohmann::json json;
  MethodConfig parsed;
};

RoundTrip round_trip(const sp_adapter_params& params, const sp::model::Transformer& model) {
  RoundTrip r;
  auto method = sp::methods::create_method(sp::methods::config_from_params(params, model.config()), model);
  r.created = method->config();
  assert_int_equal(r.created.method(), params.method);
  assert_int_equal(r.created.num_virtual_tokens, params.num_virtual_tokens);
  assert_int_equal(r.created.seed, params.seed);
  assert_false(r.created.encoded_only);
  r.json = sp::adapters::peft_config_json(*method, model);
  // The file's text, as a save writes it and a load reads it.
  r.parsed = sp::adapters::parse_peft_config(nlohmann::json::parse(r.json.dump(2)), "x", model);

  const sp::model::ModelConfig& m = model.config();
  const sp_method which = params.method;
  std::set<std::string> keys;
  for (auto it = r.json.begin(); it != r.json.end(); ++it) keys.insert(it.key());
  const std::set<std::string> expected_keys = peft_fields(which);
  if (keys != expected_keys) {
    std::string extra, missing;
    for (const auto& k : keys)
      if (!expected_keys.count(k)) extra += k + " ";
    for (const auto& k : expected_keys)
      if (!keys.count(k)) missing += k + " ";
    fail_msg("%s: keys differ from PEFT's; extra: %s missing: %s", r.json["peft_type"].dump().c_str(), extra.c_str(),
             missing.c_str());
  }
  assert_true(r.json["peft_type"] == sp::methods::method_row(which).peft_type);
  assert_true(r.json["task_type"] == "CAUSAL_LM");
  assert_true(r.json["num_virtual_tokens"] == params.num_virtual_tokens);
  assert_true(r.json["num_transformer_submodules"] == 1);
  assert_true(r.json["num_layers"] == m.num_layers);
  assert_true(r.json["token_dim"] == peft_token_dim(which, m));
  assert_true(r.json["num_attention_heads"] == peft_heads(which, m));
  assert_true(r.json["inference_mode"] == true);

  assert_int_equal(r.parsed.method(), which);
  assert_int_equal(r.parsed.num_virtual_tokens, params.num_virtual_tokens);
  return r;
}

void assert_prompt_settings_equal(const sp::methods::PromptTuningSettings& got,
                                  const sp::methods::PromptTuningSettings& want) {
  assert_int_equal(got.init, want.init);
  assert_string_equal(got.init_text.c_str(), want.init_text.c_str());
  assert_string_equal(got.tokenizer_name_or_path.c_str(), want.tokenizer_name_or_path.c_str());
}

std::map<std::string, std::vector<int64_t>> shapes_of(const sp::methods::NamedTensors& tensors) {
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& [name, tensor] : tensors) out[name] = tensor.sizes().vec();
  return out;
}

void assert_shapes(const sp_adapter_params& params, const sp::model::Transformer& model,
                   const std::map<std::string, std::vector<int64_t>>& expected) {
  auto method = sp::methods::create_method(sp::methods::config_from_params(params, model.config()), model);
  const auto got = shapes_of(method->parameters());
  if (got != expected) {
    std::string text;
    for (const auto& [name, shape] : got) text += name + c10::str(at::IntArrayRef(shape)) + " ";
    fail_msg("method %d allocates %s", static_cast<int>(params.method), text.c_str());
  }
}

// ---------------------------------------------------------------------------------------------

void method_table_has_one_row_per_method(void**) {
  const std::pair<sp_method, const char*> peft_names[] = {
      {SP_METHOD_PROMPT_TUNING, "PROMPT_TUNING"},
      {SP_METHOD_PREFIX_TUNING, "PREFIX_TUNING"},
      {SP_METHOD_P_TUNING, "P_TUNING"},
      {SP_METHOD_MULTITASK_PROMPT_TUNING, "MULTITASK_PROMPT_TUNING"}};
  const std::string supported = sp::methods::supported_peft_types();
  for (const auto& [method, name] : peft_names) {  // PEFT's PeftType names
    const sp::methods::MethodRow& row = sp::methods::method_row(method);
    assert_int_equal(row.method, method);
    assert_string_equal(row.peft_type, name);
    assert_ptr_equal(sp::methods::find_method_row(row.peft_type), &row);
    assert_true(supported.find(name) != std::string::npos);
  }
  assert_null(sp::methods::find_method_row("LORA"));
  assert_null(sp::methods::find_method_row("prompt_tuning"));  // PEFT's names are upper case
  assert_null(sp::methods::find_method_row(""));
  expect_error([] { sp::methods::method_row(static_cast<sp_method>(4)); }, sp::ErrorKind::InvalidArgument, "4");
  expect_error([] { sp::methods::method_row(static_cast<sp_method>(-1)); }, sp::ErrorKind::InvalidArgument, "-1");
}

void prompt_tuning_round_trips(void**) {
  auto model = load("llama");
  {
    const RoundTrip r = round_trip(params_for(SP_METHOD_PROMPT_TUNING), *model);
    assert_true(r.json["prompt_tuning_init"] == "RANDOM");
    assert_true(r.json["prompt_tuning_init_text"].is_null() && r.json["tokenizer_name_or_path"].is_null());
    assert_false(r.parsed.encoded_only);
    assert_prompt_settings_equal(r.parsed.get<sp::methods::PromptTuningSettings>(),
                                 r.created.get<sp::methods::PromptTuningSettings>());
  }
  {
    sp_adapter_params params = params_for(SP_METHOD_PROMPT_TUNING, 7);
    params.init = SP_INIT_SAMPLE_VOCAB;
    const RoundTrip r = round_trip(params, *model);
    assert_true(r.json["prompt_tuning_init"] == "SAMPLE_VOCAB");
    assert_int_equal(r.parsed.get<sp::methods::PromptTuningSettings>().init, SP_INIT_SAMPLE_VOCAB);
  }
  {
    const int32_t ids[] = {3, 4, 5, 250};
    sp_adapter_params params = params_for(SP_METHOD_PROMPT_TUNING, 6);
    params.init = SP_INIT_TEXT;
    params.init_token_ids = ids;
    params.num_init_token_ids = 4;
    params.init_text = "Classify the review:";
    params.tokenizer_name_or_path = "some/tokenizer";
    const RoundTrip r = round_trip(params, *model);
    assert_true(r.json["prompt_tuning_init"] == "TEXT");
    assert_true(r.json["prompt_tuning_init_text"] == "Classify the review:");
    assert_true(r.json["tokenizer_name_or_path"] == "some/tokenizer");
    const auto& created = r.created.get<sp::methods::PromptTuningSettings>();
    assert_true(created.init_token_ids == std::vector<int64_t>({3, 4, 5, 250}));
    assert_prompt_settings_equal(r.parsed.get<sp::methods::PromptTuningSettings>(), created);
    // Without a tokenizer name PEFT would refuse the TEXT config; the model's folder holds the tokenizer.
    params.tokenizer_name_or_path = nullptr;
    const RoundTrip folder = round_trip(params, *model);
    assert_true(folder.json["tokenizer_name_or_path"] == model->folder());
  }
}

void prefix_tuning_round_trips(void**) {
  auto model = load("llama");
  const auto& m = model->config();
  {
    const RoundTrip r = round_trip(params_for(SP_METHOD_PREFIX_TUNING), *model);
    assert_true(r.json["prefix_projection"] == false);
    assert_true(r.json["init_weights"].is_null());
    assert_true(r.json["encoder_hidden_size"] == peft_token_dim(SP_METHOD_PREFIX_TUNING, m));  // None -> token_dim
    const auto& s = r.parsed.get<sp::methods::PrefixTuningSettings>();
    assert_false(r.parsed.encoded_only);  // a plain table is stored as it is
    assert_false(s.prefix_projection);
    assert_false(s.prefix_zero_init);
  }
  {
    sp_adapter_params params = params_for(SP_METHOD_PREFIX_TUNING, 4);
    params.prefix_projection = 1;
    params.prefix_zero_init = 1;
    params.encoder_hidden_size = 24;
    const RoundTrip r = round_trip(params, *model);
    assert_true(r.json["prefix_projection"] == true);
    assert_true(r.json["init_weights"] == "zero");
    assert_true(r.json["encoder_hidden_size"] == 24);
    const auto& s = r.parsed.get<sp::methods::PrefixTuningSettings>();
    const auto& c = r.created.get<sp::methods::PrefixTuningSettings>();
    assert_true(c.prefix_projection && c.prefix_zero_init);
    assert_true(r.parsed.encoded_only);  // PEFT stores the projected prefix, not the MLP
    assert_true(s.prefix_projection);
    assert_true(s.prefix_zero_init);
    assert_int_equal(s.encoder_hidden_size, 24);
  }
}

void p_tuning_round_trips(void**) {
  auto model = load("llama");
  const auto& m = model->config();
  {
    const RoundTrip r = round_trip(params_for(SP_METHOD_P_TUNING), *model);
    assert_true(r.json["encoder_reparameterization_type"] == "MLP");
    assert_true(r.json["encoder_hidden_size"] == m.hidden_size);  // None -> token_dim
    assert_true(r.json["encoder_num_layers"] == 2);
    assert_true(r.json["encoder_dropout"] == 0.0);
    const auto& s = r.parsed.get<sp::methods::PTuningSettings>();
    assert_true(r.parsed.encoded_only);  // PEFT stores the encoder's output
    assert_int_equal(s.encoder_type, SP_ENCODER_MLP);
    assert_int_equal(s.encoder_hidden_size, m.hidden_size);
  }
  {
    sp_adapter_params params = params_for(SP_METHOD_P_TUNING, 6);
    params.encoder_type = SP_ENCODER_LSTM;
    params.encoder_hidden_size = 16;
    params.encoder_num_layers = 3;
    params.encoder_dropout = 0.25f;
    const RoundTrip r = round_trip(params, *model);
    assert_true(r.json["encoder_reparameterization_type"] == "LSTM");
    assert_true(r.json["encoder_hidden_size"] == 16);
    assert_true(r.json["encoder_num_layers"] == 3);
    assert_true(r.json["encoder_dropout"] == 0.25);
    const auto& s = r.parsed.get<sp::methods::PTuningSettings>();
    const auto& c = r.created.get<sp::methods::PTuningSettings>();
    assert_true(r.parsed.encoded_only);
    assert_int_equal(s.encoder_type, SP_ENCODER_LSTM);
    assert_int_equal(s.encoder_type, c.encoder_type);
    assert_int_equal(s.encoder_hidden_size, c.encoder_hidden_size);
    assert_int_equal(s.encoder_num_layers, c.encoder_num_layers);
    assert_true(s.encoder_dropout == c.encoder_dropout);
  }
}

void multitask_prompt_tuning_round_trips(void**) {
  auto model = load("llama");
  {
    sp_adapter_params params = params_for(SP_METHOD_MULTITASK_PROMPT_TUNING, 4);
    params.num_tasks = 3;
    params.num_ranks = 2;
    const RoundTrip r = round_trip(params, *model);
    assert_true(r.json["prompt_tuning_init"] == "RANDOM");
    assert_true(r.json["num_tasks"] == 3);
    assert_true(r.json["num_ranks"] == 2);
    assert_true(r.json["prompt_tuning_init_state_dict_path"].is_null());
    assert_true(r.json["prompt_tuning_init_task"] == 0);
    const auto& s = r.parsed.get<sp::methods::MultitaskPromptTuningSettings>();
    assert_false(r.parsed.encoded_only);
    assert_int_equal(s.num_tasks, 3);
    assert_int_equal(s.num_ranks, 2);
    assert_int_equal(s.source_task, 0);
    assert_true(s.source_adapter.empty());
    assert_int_equal(s.prompt.init, SP_INIT_RANDOM);
  }
  {
    const int32_t ids[] = {10, 20, 30};
    sp_adapter_params params = params_for(SP_METHOD_MULTITASK_PROMPT_TUNING, 5);
    params.init = SP_INIT_TEXT;
    params.init_token_ids = ids;
    params.num_init_token_ids = 3;
    params.init_text = "task:";
    params.tokenizer_name_or_path = "tok";
    params.num_tasks = 2;
    params.num_ranks = 4;
    const RoundTrip r = round_trip(params, *model);
    assert_true(r.json["prompt_tuning_init"] == "TEXT");
    assert_true(r.json["prompt_tuning_init_text"] == "task:");
    const auto& s = r.parsed.get<sp::methods::MultitaskPromptTuningSettings>();
    const auto& c = r.created.get<sp::methods::MultitaskPromptTuningSettings>();
    assert_prompt_settings_equal(s.prompt, c.prompt);
    assert_int_equal(s.num_tasks, 2);
    assert_int_equal(s.num_ranks, 4);
  }
}

void parsed_files_are_checked_against_the_model(void**) {
  auto model = load("llama");
  auto narrow = load("narrow-llama");  // hidden 32, 2 heads, 1 key/value head
  auto prompt = sp::methods::create_method(
      sp::methods::config_from_params(params_for(SP_METHOD_PROMPT_TUNING), model->config()), *model);
  const nlohmann::json good = sp::adapters::peft_config_json(*prompt, *model);

  nlohmann::json other = good;
  other["peft_type"] = "LORA";
  expect_error([&] { sp::adapters::parse_peft_config(other, "x", *model); }, sp::ErrorKind::Unsupported, "LORA");
  other = good;
  other.erase("peft_type");
  expect_error([&] { sp::adapters::parse_peft_config(other, "x", *model); }, sp::ErrorKind::Unsupported, "peft_type");
  other = good;
  other["task_type"] = "SEQ_2_SEQ_LM";  // read (m as the file says), then refused: this model is decoder-only
  const sp::methods::MethodConfig seq2seq = sp::adapters::parse_peft_config(other, "x", *model);
  assert_int_equal(seq2seq.task.type, SP_TASK_SEQ_2_SEQ_LM);
  assert_int_equal(seq2seq.num_transformer_submodules, 1);
  expect_error([&] { sp::methods::check_config(seq2seq, *model, sp::ErrorKind::Format, "x"); },
               sp::ErrorKind::Unsupported, "encoder-decoder");
  other["num_transformer_submodules"] = 2;  // a second submodule only for SEQ_2_SEQ_LM
  other["task_type"] = "CAUSAL_LM";
  expect_error([&] { sp::adapters::parse_peft_config(other, "x", *model); }, sp::ErrorKind::Unsupported,
               "num_transformer_submodules");
  other["num_transformer_submodules"] = 1;
  other["task_type"] = "QUESTION_ANS";  // PEFT's, but no soft-prompt head here
  expect_error([&] { sp::adapters::parse_peft_config(other, "x", *model); }, sp::ErrorKind::Unsupported, "task_type");
  other["task_type"] = "SEQ_CLS";  // read; the head's size comes from the weights file
  assert_int_equal(sp::adapters::parse_peft_config(other, "x", *model).task.type, SP_TASK_SEQ_CLS);
  other = good;
  other["token_dim"] = 63;
  expect_error([&] { sp::adapters::parse_peft_config(other, "x", *model); }, sp::ErrorKind::ShapeMismatch, "token_dim");

  // Every method's file for the narrow model, read against the wide one.
  for (sp_method method :
       {SP_METHOD_PROMPT_TUNING, SP_METHOD_PREFIX_TUNING, SP_METHOD_P_TUNING, SP_METHOD_MULTITASK_PROMPT_TUNING}) {
    auto small =
        sp::methods::create_method(sp::methods::config_from_params(params_for(method), narrow->config()), *narrow);
    const nlohmann::json json = sp::adapters::peft_config_json(*small, *narrow);
    expect_error([&] { sp::adapters::parse_peft_config(json, "x", *model); }, sp::ErrorKind::ShapeMismatch,
                 "token_dim");
    sp::adapters::parse_peft_config(json, "x", *narrow);  // and accepted by its own model
  }
  // Prefix tuning depends on every layer: a layer count that differs is refused.
  auto prefix = sp::methods::create_method(
      sp::methods::config_from_params(params_for(SP_METHOD_PREFIX_TUNING), model->config()), *model);
  nlohmann::json layers = sp::adapters::peft_config_json(*prefix, *model);
  layers["num_layers"] = model->config().num_layers + 1;
  expect_error([&] { sp::adapters::parse_peft_config(layers, "x", *model); }, sp::ErrorKind::ShapeMismatch,
               "num_layers");
}

void methods_allocate_peft_module_shapes(void**) {
  auto model = load("llama");
  const auto& m = model->config();
  const int64_t n = 5, D = m.hidden_size, L = m.num_layers;
  const int64_t prefix_dim = m.head_dim * m.num_kv_heads;
  // PromptEmbedding: nn.Embedding(n, token_dim).
  assert_shapes(params_for(SP_METHOD_PROMPT_TUNING), *model, {{"embedding.weight", {n, D}}});
  // PrefixEncoder without projection: nn.Embedding(n, 2 L token_dim).
  assert_shapes(params_for(SP_METHOD_PREFIX_TUNING), *model, {{"embedding.weight", {n, 2 * L * prefix_dim}}});
  // With projection: Embedding(n, token_dim), Linear(token_dim, h), Tanh, Linear(h, 2 L token_dim).
  sp_adapter_params projected = params_for(SP_METHOD_PREFIX_TUNING);
  projected.prefix_projection = 1;
  projected.encoder_hidden_size = 24;
  assert_shapes(projected, *model,
                {{"embedding.weight", {n, prefix_dim}},
                 {"transform.0.weight", {24, prefix_dim}},
                 {"transform.0.bias", {24}},
                 {"transform.2.weight", {2 * L * prefix_dim, 24}},
                 {"transform.2.bias", {2 * L * prefix_dim}}});
  // PromptEncoder MLP: Linear(D, h), ReLU, Linear(h, h), ReLU, Linear(h, D).
  sp_adapter_params mlp = params_for(SP_METHOD_P_TUNING);
  mlp.encoder_hidden_size = 12;
  assert_shapes(mlp, *model,
                {{"embedding.weight", {n, D}},
                 {"mlp_head.0.weight", {12, D}},
                 {"mlp_head.0.bias", {12}},
                 {"mlp_head.2.weight", {12, 12}},
                 {"mlp_head.2.bias", {12}},
                 {"mlp_head.4.weight", {D, 12}},
                 {"mlp_head.4.bias", {D}}});
  // PromptEncoder LSTM: bidirectional nn.LSTM(D, h, num_layers=2), then Linear(2h, 2h), ReLU, Linear(2h, D).
  sp_adapter_params lstm = params_for(SP_METHOD_P_TUNING);
  lstm.encoder_type = SP_ENCODER_LSTM;
  lstm.encoder_hidden_size = 8;
  std::map<std::string, std::vector<int64_t>> lstm_shapes = {{"embedding.weight", {n, D}},
                                                             {"mlp_head.0.weight", {16, 16}},
                                                             {"mlp_head.0.bias", {16}},
                                                             {"mlp_head.2.weight", {D, 16}},
                                                             {"mlp_head.2.bias", {D}}};
  for (const char* suffix : {"", "_reverse"}) {
    for (int layer = 0; layer < 2; ++layer) {
      const std::string s = std::to_string(layer) + suffix;
      lstm_shapes["lstm_head.weight_ih_l" + s] = {32, layer == 0 ? D : 16};
      lstm_shapes["lstm_head.weight_hh_l" + s] = {32, 8};
      lstm_shapes["lstm_head.bias_ih_l" + s] = {32};
      lstm_shapes["lstm_head.bias_hh_l" + s] = {32};
    }
  }
  assert_shapes(lstm, *model, lstm_shapes);
  // MultitaskPromptEmbedding: Embedding(n, D), prefix_task_cols (tasks, n, ranks), prefix_task_rows (tasks, ranks, D).
  sp_adapter_params mpt = params_for(SP_METHOD_MULTITASK_PROMPT_TUNING);
  mpt.num_tasks = 3;
  mpt.num_ranks = 2;
  assert_shapes(mpt, *model,
                {{"embedding.weight", {n, D}}, {"prefix_task_cols", {3, n, 2}}, {"prefix_task_rows", {3, 2, D}}});
}

}  // namespace

int main(int argc, char** argv) {
  if (!core_test::read_models_folder(argc, argv, models_root)) return 2;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(method_table_has_one_row_per_method),
      cmocka_unit_test(prompt_tuning_round_trips),
      cmocka_unit_test(prefix_tuning_round_trips),
      cmocka_unit_test(p_tuning_round_trips),
      cmocka_unit_test(multitask_prompt_tuning_round_trips),
      cmocka_unit_test(parsed_files_are_checked_against_the_model),
      cmocka_unit_test(methods_allocate_peft_module_shapes),
  };
  return cmocka_run_group_tests_name("method table and PEFT configs", tests, nullptr, nullptr);
}
