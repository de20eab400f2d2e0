// Builds the method a MethodConfig names, after checking the configuration against the model.
#pragma once

#include <memory>

#include "methods/method.h"

namespace sp::methods {

// Throws InvalidArgument for out-of-range settings (zero tokens, negative sizes, an init mode the
// method does not have, ...). `loading` skips MPT's source initialisation (see MultitaskPromptTuning).
std::unique_ptr<SoftPromptMethod> create_method(const MethodConfig& config, const model::Transformer& model,
                                                bool loading = false);

// Copies `values` into the method's trainable tensors by name; every parameter must be present with
// its exact shape (ShapeMismatch / Format otherwise).
void load_parameters(SoftPromptMethod& method, const NamedTensors& values, const std::string& source);

}  // namespace sp::methods
