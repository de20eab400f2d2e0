// --plot FILE.svg: the loss curve (train loss per update, eval loss at each evaluation) against
// the update step, with ticked and labelled axes. Plain SVG written here; no dependency.
#pragma once

#include <string>

#include "metrics_file.h"

namespace cli {

void write_loss_plot(const std::string& path, const LossHistory& history);

// Round tick positions covering [low, high]: steps of 1, 2 or 5 times a power of ten, about
// `wanted` of them.
std::vector<double> nice_ticks(double low, double high, int wanted);

}  // namespace cli
