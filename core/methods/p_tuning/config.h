// P-tuning's row of the method table.
#pragma once

#include "methods/registry.h"

namespace sp::methods {

extern const MethodRow kPTuningRow;

}  // namespace sp::methods
