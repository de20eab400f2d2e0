// Builds the method a MethodConfig names (through its row in the method table), after checking the
// configuration against the model.
#pragma once

#include <memory>

#include "methods/method.h"
#include "methods/parameter_shapes.h"
#include "methods/registry.h"
#include "softprompt/softprompt.h"

namespace sp::methods {

// A configuration from the public parameters: the shared fields, then the method's own through its
// row (InvalidArgument or OutOfRange for a request its method cannot honour). Not yet validated.
MethodConfig config_from_params(const sp_adapter_params& params, const ParamsContext& context);
// For a model without a tokenizer (an init_text needing one fails with NotFound).
MethodConfig config_from_params(const sp_adapter_params& params, const model::ModelConfig& model);

// Checks a configuration without allocating anything: the shared and the method's rules and
// plausible bounds throw `kind` with `source` (a file name; empty for a caller's request) and the
// key in the message; the task against the model (Unsupported: causal LM on an encoder, seq2seq).
// Returns the tensors the method will allocate (the head's after the prompt's), for comparison with
// a file's declared tensors (check_declared_tensors) before create_method allocates them.
std::vector<ExpectedTensor> check_config(const MethodConfig& config, const model::Transformer& model, ErrorKind kind,
                                         const std::string& source);

// check_config(..., InvalidArgument, ""), check_fits_in_memory (OutOfMemory for tensors larger
// than the machine's memory), then builds the method. `loading` skips data-dependent
// initialisation (the tensors are about to be overwritten from a file).
std::unique_ptr<SoftPromptMethod> create_method(const MethodConfig& config, const model::Transformer& model,
                                                bool loading = false);

// Copies `values` into the method's trainable tensors by name; every parameter must be present with
// its exact shape (ShapeMismatch / Format otherwise).
void load_parameters(SoftPromptMethod& method, const NamedTensors& values, const std::string& source);

}  // namespace sp::methods
