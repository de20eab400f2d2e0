// `--model default`: which model the tool uses when the user names none.
#pragma once

#include <string>

namespace cli {

// "default" (or an empty option) becomes $SOFTPROMPT_DEFAULT_MODEL when set, else the SmolLM2 GGUF
// that scripts/setup.sh installs into the project's .venv (found at configure time, or looked for
// again in the same virtual environment); any other value is returned unchanged. Throws
// RuntimeFailure, telling the user what to do, when there is no default model.
std::string resolve_model(const std::string& option);

}  // namespace cli
