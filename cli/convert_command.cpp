// softprompt convert: an adapter from PEFT's folder layout to softprompt's single file, or back.
#include <cstdio>

#include "commands.h"
#include "failures.h"
#include "loading.h"

namespace cli {

CommandSpec convert_spec() {
  CommandSpec spec;
  spec.name = "convert";
  spec.arguments = "IN OUT";
  spec.min_positional = spec.max_positional = 2;
  spec.summary =
      "Converts an adapter: a PEFT folder IN becomes the single file OUT; a single file IN becomes the\n"
      "PEFT folder OUT. The adapter is loaded on --model (the single file records its base model, so it\n"
      "must be the model the adapter was made for). P-tuning and projected prefixes leave a single file\n"
      "as PEFT stores them: their encoder outputs only.";
  spec.options = model_options();
  spec.epilogue =
      "examples:\n"
      "  softprompt convert --model my-model peft-adapter/ adapter.spa\n"
      "  softprompt convert --model my-model adapter.spa peft-adapter/";
  return spec;
}

int run_convert(const ParsedOptions& options) {
  const std::string in = options.positional[0];
  std::string out = options.positional[1];
  if (in.empty() || out.empty()) throw UsageError("IN and OUT must not be empty");
  const bool from_folder = is_folder_path(in);
  if (!from_folder && out.back() != '/') out += '/';  // a single file becomes a folder
  if (from_folder && out.back() == '/') {
    throw UsageError("OUT '" + out + "' names a folder, but a PEFT folder converts to a single file");
  }
  if (from_folder && is_folder_path(out)) {
    throw UsageError("OUT '" + out + "' is a folder, but a PEFT folder converts to a single file");
  }
  Model model = load_model(options);
  Adapter adapter = load_adapter(model.get(), in);
  save_adapter(adapter.get(), out);
  std::printf("%s (%s) -> %s (%s)\n", in.c_str(), from_folder ? "PEFT folder" : "single file",
              options.positional[1].c_str(), from_folder ? "single file" : "PEFT folder");
  return 0;
}

}  // namespace cli
