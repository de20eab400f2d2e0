// softprompt inspect: what a model (folder or GGUF file), an adapter (PEFT folder or single file)
// or a trainer checkpoint holds.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "default_model.h"
#include "failures.h"
#include "loading.h"

namespace cli {

namespace {

enum class Kind { Model, AdapterFolder, AdapterFile };

Kind kind_of(const std::string& path) {
  std::error_code error;
  const std::filesystem::path where(path);
  if (std::filesystem::is_directory(where, error)) {
    if (std::filesystem::exists(where / "adapter_config.json", error)) return Kind::AdapterFolder;
    if (std::filesystem::exists(where / "config.json", error)) return Kind::Model;
    throw RuntimeFailure(path + ": neither a model folder (config.json) nor an adapter folder (adapter_config.json)");
  }
  if (!std::filesystem::exists(where, error)) throw RuntimeFailure(path + ": no such file or folder");
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {0, 0, 0, 0};
  in.read(magic, 4);
  return std::string(magic, 4) == "GGUF" ? Kind::Model : Kind::AdapterFile;
}

std::string token_text(const sp_tokenizer* tokenizer, int32_t id) {
  if (id < 0) return "";
  size_t size = 0;
  char text[256];
  if (sp_tokenizer_id_to_token(tokenizer, id, text, sizeof text, &size) != SP_OK) return "";
  return std::string(text, size);
}

nlohmann::ordered_json describe_model(const ParsedOptions& options, const std::string& path) {
  Model model = load_model_from(path, options);
  sp_model_info info = sp_model_info_init();
  check(sp_model_get_info(model.get(), &info), "the model's sizes");
  nlohmann::ordered_json out{{"kind", "model"},
                             {"path", path},
                             {"model_type", info.model_type},
                             {"vocab_size", info.vocab_size},
                             {"hidden_size", info.hidden_size},
                             {"num_layers", info.num_layers},
                             {"num_attention_heads", info.num_attention_heads},
                             {"num_key_value_heads", info.num_key_value_heads},
                             {"head_dim", info.head_dim},
                             {"max_position_embeddings", info.max_position_embeddings}};
  size_t count = 0;
  std::vector<int32_t> eos(64);
  check(sp_model_eos_ids(model.get(), eos.data(), eos.size(), &count), "the model's EOS ids");
  eos.resize(std::min(count, eos.size()));
  out["eos_ids"] = eos;
  sp_tokenizer* raw = nullptr;
  const sp_status status = sp_model_tokenizer(&raw, model.get());
  if (status == SP_ERR_NOT_FOUND) {
    out["tokenizer"] = nullptr;
    out["chat_template"] = "none";
    return out;
  }
  check(status, "the model's tokenizer");
  Tokenizer tokenizer(raw);
  sp_tokenizer_info tokens = sp_tokenizer_info_init();
  check(sp_tokenizer_get_info(tokenizer.get(), &tokens), "the tokenizer's special tokens");
  nlohmann::ordered_json special = nlohmann::ordered_json::object();
  for (const auto& [name, id] : {std::pair<const char*, int32_t>{"bos", tokens.bos_id},
                                 {"eos", tokens.eos_id},
                                 {"pad", tokens.pad_id},
                                 {"unk", tokens.unk_id}}) {
    special[name] = id < 0 ? nlohmann::ordered_json(nullptr)
                           : nlohmann::ordered_json{{"id", id}, {"token", token_text(tokenizer.get(), id)}};
  }
  out["tokenizer"] = {{"vocab_size", tokens.vocab_size}, {"special_tokens", special}};
  const sp_chat_message probe{"user", "hi", 2};
  size_t size = 0;
  const sp_status rendered = sp_tokenizer_apply_chat_template(tokenizer.get(), &probe, 1, 1, nullptr, 0, &size);
  out["chat_template"] = rendered == SP_ERR_NOT_FOUND     ? "none"
                         : rendered == SP_ERR_UNSUPPORTED ? "unsupported family"
                                                          : "ChatML";
  return out;
}

nlohmann::ordered_json describe_adapter_file(const std::string& path) {
  size_t size = 0;
  const sp_status sized = sp_adapter_describe(path.c_str(), nullptr, 0, &size);
  if (sized != SP_ERR_BUFFER_TOO_SMALL) check(sized, "describing " + path);
  std::string text(size + 1, '\0');
  check(sp_adapter_describe(path.c_str(), text.data(), text.size(), &size), "describing " + path);
  text.resize(size);
  nlohmann::ordered_json out = nlohmann::ordered_json::parse(text, nullptr, false);
  if (out.is_discarded()) throw RuntimeFailure("describing " + path + ": the library returned malformed JSON");
  out["kind"] = out.value("format", "") == "trainer-state" ? "trainer-state" : "adapter";
  out["path"] = path;
  return out;
}

// The adapter loaded on a model: its trainable tensors as the library holds them (and their values).
nlohmann::ordered_json loaded_tensors(const ParsedOptions& options, const std::string& path, bool values) {
  Model model = load_model(options);
  Adapter adapter = load_adapter(model.get(), path);
  sp_adapter_info info = sp_adapter_info_init();
  check(sp_adapter_get_info(adapter.get(), &info), "the adapter's sizes");
  nlohmann::ordered_json tensors = nlohmann::ordered_json::array();
  for (int32_t i = 0; i < info.num_parameter_tensors; ++i) {
    const char* name = nullptr;
    check(sp_adapter_parameter_name(adapter.get(), i, &name), "a tensor's name");
    int64_t dims[SP_MAX_PARAMETER_DIMS];
    size_t rank = 0;
    check(sp_adapter_parameter_shape(adapter.get(), name, dims, SP_MAX_PARAMETER_DIMS, &rank), "a tensor's shape");
    nlohmann::ordered_json tensor{{"name", name}, {"shape", std::vector<int64_t>(dims, dims + rank)}};
    if (values) {
      size_t count = 0;
      check(sp_adapter_parameter_size(adapter.get(), name, &count), "a tensor's size");
      std::vector<float> data(count);
      check(sp_adapter_get_parameter(adapter.get(), name, data.data(), count), "a tensor's values");
      tensor["values"] = data;
    }
    tensors.push_back(tensor);
  }
  return {{"trainable_tensors", tensors}, {"trainable_parameters", info.num_trainable_parameters}};
}

void print_value(const std::string& key, const nlohmann::ordered_json& value, int indent) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  if (value.is_object()) {
    std::printf("%s%s:\n", pad.c_str(), key.c_str());
    for (const auto& item : value.items()) print_value(item.key(), item.value(), indent + 2);
  } else if (value.is_string()) {
    std::printf("%s%-24s %s\n", pad.c_str(), (key + ":").c_str(), value.get<std::string>().c_str());
  } else {
    std::printf("%s%-24s %s\n", pad.c_str(), (key + ":").c_str(), value.dump().c_str());
  }
}

void print_human(const nlohmann::ordered_json& out) {
  for (const auto& item : out.items()) {
    if ((item.key() == "tensors" || item.key() == "trainable_tensors") && item.value().is_array()) {
      std::printf("%s:\n", item.key().c_str());
      for (const nlohmann::ordered_json& tensor : item.value()) {
        std::printf("  %-40s %s %s\n", tensor.value("name", "").c_str(),
                    tensor.value("shape", nlohmann::ordered_json()).dump().c_str(), tensor.value("dtype", "").c_str());
      }
    } else {
      print_value(item.key(), item.value(), 0);
    }
  }
}

}  // namespace

CommandSpec inspect_spec() {
  CommandSpec spec;
  spec.name = "inspect";
  spec.arguments = "PATH";
  spec.min_positional = spec.max_positional = 1;
  spec.summary =
      "Describes PATH: a model (a Hugging Face folder or a .gguf file: sizes, EOS ids, tokenizer, chat\n"
      "template), an adapter (a PEFT folder or a single file: method, configuration, tensors, base-model\n"
      "record) or a trainer checkpoint (`train --checkpoint`). Adapters are described without a model;\n"
      "with --model the adapter is also loaded on it and its trainable tensors listed.";
  spec.options = model_options();  // --model: for adapters, the model to load them on
  spec.options.push_back({"--json", "", "print one JSON object instead of text"});
  spec.options.push_back({"--values", "", "with --model: the trainable tensors' values as well (JSON numbers)"});
  return spec;
}

int run_inspect(const ParsedOptions& options) {
  const std::string path =
      options.positional[0] == "default" ? resolve_model(options.positional[0]) : options.positional[0];
  if (options.has("--values") && !options.has("--model")) throw UsageError("--values needs --model");
  const Kind kind = kind_of(path);
  nlohmann::ordered_json out;
  if (kind == Kind::Model) {
    if (options.has("--model")) throw UsageError("--model is for adapters; PATH is a model");
    out = describe_model(options, path);
  } else {
    out = describe_adapter_file(path);
    if (options.has("--model")) {
      if (out["kind"] == "trainer-state") throw UsageError("--model is for adapters; PATH is a trainer state");
      const nlohmann::ordered_json loaded = loaded_tensors(options, path, options.has("--values"));
      for (const auto& item : loaded.items()) out[item.key()] = item.value();
    }
  }
  if (options.has("--json")) {
    std::printf("%s\n", out.dump().c_str());
  } else {
    print_human(out);
  }
  return 0;
}

}  // namespace cli
