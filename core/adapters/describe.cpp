#include "adapters/describe.h"

#include <nlohmann/json.hpp>

#include "adapters/peft_config.h"
#include "adapters/peft_files.h"
#include "adapters/single_file.h"
#include "io/file_util.h"
#include "io/safetensors.h"
#include "methods/method_config.h"
#include "methods/registry.h"
#include "train/trainer_state.h"
#include "util/errors.h"
#include "util/json_reader.h"

namespace sp::adapters {

namespace {

// The checks of a PEFT config that need no model (read_peft_config), and a plausible number of
// virtual tokens; returns the peft_type.
std::string check_peft_config(const nlohmann::json& config, const std::string& source) {
  const PeftConfigAlone alone = read_peft_config(config, source);
  if (alone.config.num_virtual_tokens > (int64_t(1) << 20))
    JsonReader(config, source)
        .format_error("num_virtual_tokens " + std::to_string(alone.config.num_virtual_tokens) +
                      " is beyond the bound of 1048576");
  return JsonReader(config, source).string("peft_type", "");
}

nlohmann::json tensor_entry(const io::TensorView& view) {
  return {{"name", view.name}, {"shape", view.shape}, {"dtype", io::dtype_name(view.dtype)}};
}

nlohmann::json describe_folder(const std::string& folder) {
  return io::read_folder_consistently(folder, [&] {
    const std::string config_path = io::join_path(folder, kPeftConfigFile);
    const std::string weights_path = io::join_path(folder, kPeftWeightsFile);
    nlohmann::json config = parse_json(io::read_file(config_path), config_path);
    nlohmann::json out = {{"format", "peft-folder"}, {"method", check_peft_config(config, config_path)}};
    if (!io::is_regular_file(weights_path))
      fail(ErrorKind::NotFound, "adapter folder '" + folder + "' has no " + kPeftWeightsFile);
    const auto file = io::SafetensorsFile::open(weights_path);  // checks the header; reads no data
    nlohmann::json tensors = nlohmann::json::array();
    int64_t count = 0;
    for (const auto& view : file->tensors()) {
      tensors.push_back(tensor_entry(view));
      count += view.numel();
    }
    out["peft_config"] = std::move(config);
    out["tensors"] = std::move(tensors);
    out["parameter_count"] = count;
    return out;
  });
}

nlohmann::json describe_file(const std::string& path, const ContainerKind& kind) {
  ContainerReader reader(path, kind);
  const bool trainer_state = &kind == &train::kTrainerStateKind;
  const nlohmann::json method = reader.record(kMethodKey);
  const JsonReader method_json(method, reader.source() + ", record " + kMethodKey);
  const nlohmann::json* peft_config = method_json.object("peft_config");
  if (!peft_config) method_json.format_error("lacks \"peft_config\"");
  nlohmann::json out = {{"format", trainer_state ? "trainer-state" : "single-file"},
                        {"method", check_peft_config(*peft_config, method_json.source() + ", peft_config")},
                        {"peft_config", *peft_config},
                        {"encoded_only", method_json.boolean("encoded_only", false)}};
  if (method.contains("seed")) out["seed"] = method["seed"];
  nlohmann::json tensors = nlohmann::json::array();
  int64_t count = 0;
  for (const auto& view : reader.header().tensors) {
    if (trainer_state && view.name.compare(0, 8, "trainer.") == 0) continue;
    if (view.dtype != io::DType::F32) reader.corrupt("tensor \"" + view.name + "\" is not F32");
    tensors.push_back(tensor_entry(view));
    count += view.numel();
  }
  out["tensors"] = std::move(tensors);
  out["parameter_count"] = count;
  out["base_model"] = reader.record(kBaseModelKey);
  if (trainer_state) out["trainer"] = train::trainer_record_for_description(reader);
  reader.verify_data();
  return out;
}

}  // namespace

std::string describe(const std::string& path) {
  if (io::is_directory(path)) return describe_folder(path).dump();
  const std::string file = io::read_file(path);  // NotFound when missing
  const ContainerKind* kind = container_kind_of(file.substr(0, 8), {&kAdapterFileKind, &train::kTrainerStateKind});
  if (!kind)
    fail(ErrorKind::Format,
         "'" + path + "' is neither an adapter folder nor a softprompt adapter or trainer-state file");
  return describe_file(path, *kind).dump();
}

}  // namespace sp::adapters
