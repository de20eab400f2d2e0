// `train`'s method and optimiser options, and the library parameter structs they become.
#pragma once

#include <string>
#include <vector>

#include "options.h"
#include "softprompt/softprompt.h"

namespace cli {

std::vector<OptionSpec> method_options();
std::vector<OptionSpec> optimiser_options();

// sp_adapter_params borrows its strings: they live here beside it.
struct AdapterSettings {
  std::string method;
  std::string init_text;
  std::string source_adapter;
  sp_adapter_params params{};
};

AdapterSettings adapter_settings(const ParsedOptions& options);

// total_updates: the run's length, for the linear schedule's decay to zero.
sp_trainer_params trainer_settings(const ParsedOptions& options, const std::string& method, int64_t total_updates);

}  // namespace cli
