#include "loading.h"

#include <climits>
#include <filesystem>

#include "default_model.h"
#include "failures.h"

namespace cli {

std::vector<OptionSpec> model_options() {
  return {
      {"--model", "PATH",
       "a Hugging Face model folder, a .gguf file, or `default` (the default:\n"
       "$SOFTPROMPT_DEFAULT_MODEL, else SmolLM2-135M-Instruct from scripts/setup.sh)"},
      {"--device", "cpu|cuda[:N]", "where the model runs (default cpu)"},
      {"--dtype", "float32|bfloat16|float16", "the model's element type (default float32)"},
      {"--threads", "N",
       "CPU threads per computation, 1..1024; 0 (the default) is LibTorch's own\n"
       "count: OMP_NUM_THREADS when set, else the cores"},
  };
}

void apply_thread_option(const ParsedOptions& options) {
  if (!options.has("--threads")) return;
  const int64_t count = options.integer("--threads", 0, INT32_MIN, INT32_MAX);
  const sp_status status = sp_set_num_threads(static_cast<int32_t>(count));
  // The library owns the bounds: what it refuses is a wrong command line.
  if (status == SP_ERR_INVALID_ARGUMENT) {
    throw UsageError("--threads " + std::to_string(count) + ": " + sp_last_error());
  }
  check(status, "setting --threads");
}

Model load_model(const ParsedOptions& options) { return load_model_from(options.text("--model", "default"), options); }

Model load_model_from(const std::string& model_option, const ParsedOptions& options) {
  apply_thread_option(options);
  sp_model_params params = sp_model_default_params();
  const std::string dtype = options.choice("--dtype", "float32", {"float32", "bfloat16", "float16"});
  params.dtype = dtype == "bfloat16" ? SP_DTYPE_BFLOAT16 : dtype == "float16" ? SP_DTYPE_FLOAT16 : SP_DTYPE_FLOAT32;
  const std::string device = options.text("--device", "cpu");
  if (device == "cuda" || device.rfind("cuda:", 0) == 0) {
    params.device = SP_DEVICE_CUDA;
    if (device.size() > 5) {
      const std::string index = device.substr(5);
      if (index.find_first_not_of("0123456789") != std::string::npos || index.empty() || index.size() > 4) {
        throw UsageError("--device must be cpu, cuda or cuda:N, not '" + device + "'");
      }
      params.device_index = std::stoi(index);
    }
  } else if (device != "cpu") {
    throw UsageError("--device must be cpu, cuda or cuda:N, not '" + device + "'");
  }
  const std::string path = resolve_model(model_option);
  sp_model* model = nullptr;
  check(sp_model_create(&model, path.c_str(), &params), "loading the model " + path);
  return Model(model);
}

Tokenizer model_tokenizer(const sp_model* model, const std::string& needed_for) {
  sp_tokenizer* tokenizer = nullptr;
  const sp_status status = sp_model_tokenizer(&tokenizer, model);
  if (status == SP_ERR_NOT_FOUND) {
    throw RuntimeFailure("the model has no tokenizer (tokenizer.json), which " + needed_for + " needs");
  }
  check(status, "the model's tokenizer");
  return Tokenizer(tokenizer);
}

namespace {

// "out/" and "out" name the same folder for the library's atomic saves.
std::string without_trailing_slash(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

}  // namespace

bool is_folder_path(const std::string& path) {
  std::error_code error;
  return (!path.empty() && path.back() == '/') || std::filesystem::is_directory(path, error);
}

Adapter load_adapter(sp_model* model, const std::string& path) {
  sp_adapter* adapter = nullptr;
  if (is_folder_path(path)) {
    check(sp_adapter_load(&adapter, model, without_trailing_slash(path).c_str()), "loading the adapter folder " + path);
  } else {
    check(sp_adapter_load_file(&adapter, model, path.c_str()), "loading the adapter file " + path);
  }
  return Adapter(adapter);
}

void save_adapter(const sp_adapter* adapter, const std::string& path) {
  if (is_folder_path(path)) {
    check(sp_adapter_save(adapter, without_trailing_slash(path).c_str()), "saving the adapter folder " + path);
  } else {
    check(sp_adapter_save_file(adapter, path.c_str()), "saving the adapter file " + path);
  }
}

}  // namespace cli
