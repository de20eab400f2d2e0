#include "adapters/peft_folder.h"

#include <nlohmann/json.hpp>

#include "adapters/peft_config.h"
#include "io/file_util.h"
#include "io/safetensors.h"
#include "io/torch_tensors.h"
#include "methods/factory.h"
#include "util/errors.h"
#include "util/json_reader.h"

namespace sp::adapters {

void save_peft_folder(const std::string& folder, const methods::SoftPromptMethod& method,
                      const model::Transformer& model) {
  // Both files in one atomic step: two renames one after the other let a kill between them leave
  // the weights of one save with the config of another.
  io::write_folder_atomically(folder,
                              {{kPeftWeightsFile, io::encode_tensors(method.tensors_for_saving(), {{"format", "pt"}})},
                               {kPeftConfigFile, peft_config_json(method, model).dump(2, ' ', /*ensure_ascii=*/true)}});
}

namespace {
std::unique_ptr<methods::SoftPromptMethod> load_peft_folder_once(const std::string& folder,
                                                                 const model::Transformer& model) {
  if (!io::is_directory(folder)) fail(ErrorKind::NotFound, "adapter folder not found: '" + folder + "'");
  const std::string config_path = io::join_path(folder, kPeftConfigFile);
  const std::string weights_path = io::join_path(folder, kPeftWeightsFile);
  methods::MethodConfig config =
      parse_peft_config(parse_json(io::read_file(config_path), config_path), config_path, model);
  if (!io::is_regular_file(weights_path)) {
    if (io::is_regular_file(io::join_path(folder, "adapter_model.bin")))
      fail(ErrorKind::Unsupported, "'" + folder +
                                       "' holds adapter_model.bin (a Python pickle); save it with "
                                       "safe_serialization=True to get adapter_model.safetensors");
    fail(ErrorKind::NotFound, "adapter folder '" + folder + "' has no " + kPeftWeightsFile);
  }
  auto file = io::SafetensorsFile::open(weights_path);  // maps the file and checks its header; reads no data
  // PEFT's file key for the table is "prompt_embeddings"; in memory it is "embedding.weight".
  auto memory_name = [](const std::string& name) {
    return name == "prompt_embeddings" ? std::string("embedding.weight") : name;
  };
  std::vector<methods::DeclaredTensor> declared;
  for (const auto& view : file->tensors()) declared.push_back({memory_name(view.name), view.name, view.shape});
  read_num_labels(config, model, declared, "'" + weights_path + "'");
  // Sizes are checked against their bounds and the weights' declared shapes before anything is
  // allocated: the config alone could ask for any amount of memory.
  const auto expected = methods::check_config(config, model, ErrorKind::Format, config_path);
  methods::check_declared_tensors(expected, declared, "'" + weights_path + "' read with " + kPeftConfigFile);

  std::unique_ptr<methods::SoftPromptMethod> method = methods::create_method(config, model, /*loading=*/true);
  methods::NamedTensors values;
  for (const auto& view : file->tensors()) {
    bool needed = false;  // other tensors are never read
    for (const auto& want : expected) needed = needed || want.name == memory_name(view.name);
    if (!needed) continue;
    at::Tensor tensor = io::tensor_from_view(view, file);
    if (!at::isFloatingType(tensor.scalar_type()))
      fail(ErrorKind::Format, "'" + weights_path + "': tensor \"" + view.name + "\" is not floating point");
    values.emplace_back(memory_name(view.name), tensor);  // half-precision files are up-cast to float32, as PEFT does
  }
  methods::load_parameters(*method, values, "'" + weights_path + "'");
  return method;
}

}  // namespace

std::unique_ptr<methods::SoftPromptMethod> load_peft_folder(const std::string& folder,
                                                            const model::Transformer& model) {
  // Config and weights from the same save, even while another process saves the folder.
  return io::read_folder_consistently(folder, [&] { return load_peft_folder_once(folder, model); });
}

}  // namespace sp::adapters
