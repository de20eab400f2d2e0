// Builds the method a MethodConfig names, after checking the configuration against the model.
#pragma once

#include <memory>

#include "methods/method.h"
#include "methods/parameter_shapes.h"

namespace sp::methods {

// Checks a configuration without allocating anything: its rules (zero tokens, negative sizes, an init
// mode the method does not have, ...) and plausible bounds throw `kind` with `source` (a file name;
// empty for a caller's request) and the key in the message. Returns the tensors the method will
// allocate, for comparison with a file's declared tensors (check_declared_tensors) before
// create_method allocates them.
std::vector<ExpectedTensor> check_config(const MethodConfig& config, const model::ModelConfig& model, ErrorKind kind,
                                         const std::string& source);

// check_config(..., InvalidArgument, ""), check_fits_in_memory (OutOfMemory for tensors larger
// than the machine's memory), then builds the method. `loading` skips MPT's source
// initialisation (see MultitaskPromptTuning).
std::unique_ptr<SoftPromptMethod> create_method(const MethodConfig& config, const model::Transformer& model,
                                                bool loading = false);

// Copies `values` into the method's trainable tensors by name; every parameter must be present with
// its exact shape (ShapeMismatch / Format otherwise).
void load_parameters(SoftPromptMethod& method, const NamedTensors& values, const std::string& source);

}  // namespace sp::methods
