#include "loss_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "failures.h"

namespace cli {

namespace {

constexpr double kWidth = 720, kHeight = 440;
constexpr double kLeft = 78, kRight = 24, kTop = 44, kBottom = 64;

struct Axes {
  double x_low, x_high, y_low, y_high;
  double x(double step) const { return kLeft + (step - x_low) / (x_high - x_low) * (kWidth - kLeft - kRight); }
  double y(double loss) const { return kTop + (y_high - loss) / (y_high - y_low) * (kHeight - kTop - kBottom); }
};

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", std::fabs(value) < 1e-12 ? 0.0 : value);
  return text;
}

void polyline(std::ostringstream& svg, const Axes& axes, const std::vector<LossPoint>& points, const char* colour) {
  if (points.empty()) return;
  svg << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1.6\" points=\"";
  for (const LossPoint& point : points) {
    if (!std::isfinite(point.loss)) continue;
    svg << axes.x(static_cast<double>(point.step)) << ',' << axes.y(point.loss) << ' ';
  }
  svg << "\"/>\n";
}

}  // namespace

std::vector<double> nice_ticks(double low, double high, int wanted) {
  if (!(high > low)) high = low + 1;
  const double raw = (high - low) / std::max(1, wanted);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double factor : {1.0, 2.0, 5.0, 10.0}) {
    step = factor * power;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double tick = std::ceil(low / step - 1e-9) * step; tick <= high + step * 1e-9; tick += step) {
    ticks.push_back(tick);
  }
  return ticks;
}

void write_loss_plot(const std::string& path, const LossHistory& history) {
  Axes axes{0, 1, 0, 1};
  bool any = false;
  for (const auto* points : {&history.train, &history.eval}) {
    for (const LossPoint& point : *points) {
      if (!std::isfinite(point.loss)) continue;
      const double step = static_cast<double>(point.step);
      if (!any) axes = {step, step, point.loss, point.loss};
      axes = {std::min(axes.x_low, step), std::max(axes.x_high, step), std::min(axes.y_low, point.loss),
              std::max(axes.y_high, point.loss)};
      any = true;
    }
  }
  if (axes.x_high <= axes.x_low) axes.x_high = axes.x_low + 1;
  const double margin = std::max((axes.y_high - axes.y_low) * 0.05, 1e-3);
  axes.y_low = std::max(0.0, axes.y_low - margin);
  axes.y_high += margin;
  const std::vector<double> x_ticks = nice_ticks(axes.x_low, axes.x_high, 8);
  const std::vector<double> y_ticks = nice_ticks(axes.y_low, axes.y_high, 6);

  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << kHeight
      << "\" viewBox=\"0 0 " << kWidth << ' ' << kHeight << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << kWidth / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">softprompt: loss</text>\n";
  const double plot_bottom = kHeight - kBottom, plot_right = kWidth - kRight;
  svg << "<g id=\"x-axis\" stroke=\"black\">\n<line x1=\"" << kLeft << "\" y1=\"" << plot_bottom << "\" x2=\""
      << plot_right << "\" y2=\"" << plot_bottom << "\"/>\n";
  for (double tick : x_ticks) {
    const double x = axes.x(tick);
    svg << "<line x1=\"" << x << "\" y1=\"" << plot_bottom << "\" x2=\"" << x << "\" y2=\"" << plot_bottom + 5
        << "\"/>\n<text class=\"tick\" stroke=\"none\" x=\"" << x << "\" y=\"" << plot_bottom + 19
        << "\" text-anchor=\"middle\">" << number_text(tick) << "</text>\n";
  }
  svg << "</g>\n<g id=\"y-axis\" stroke=\"black\">\n<line x1=\"" << kLeft << "\" y1=\"" << kTop << "\" x2=\"" << kLeft
      << "\" y2=\"" << plot_bottom << "\"/>\n";
  for (double tick : y_ticks) {
    const double y = axes.y(tick);
    svg << "<line x1=\"" << kLeft - 5 << "\" y1=\"" << y << "\" x2=\"" << kLeft << "\" y2=\"" << y
        << "\"/>\n<line stroke=\"#e4e4e4\" x1=\"" << kLeft << "\" y1=\"" << y << "\" x2=\"" << plot_right << "\" y2=\""
        << y << "\"/>\n<text class=\"tick\" stroke=\"none\" x=\"" << kLeft - 8 << "\" y=\"" << y + 4
        << "\" text-anchor=\"end\">" << number_text(tick) << "</text>\n";
  }
  svg << "</g>\n"
      << "<text id=\"x-label\" x=\"" << (kLeft + plot_right) / 2 << "\" y=\"" << kHeight - 18
      << "\" text-anchor=\"middle\">update step</text>\n"
      << "<text id=\"y-label\" x=\"18\" y=\"" << (kTop + plot_bottom) / 2
      << "\" text-anchor=\"middle\" transform=\"rotate(-90 18 " << (kTop + plot_bottom) / 2
      << ")\">loss (nats per target token)</text>\n";
  svg << "<g id=\"train\">\n";
  polyline(svg, axes, history.train, "#1f6fb4");
  svg << "</g>\n<g id=\"eval\">\n";
  polyline(svg, axes, history.eval, "#e07b00");
  for (const LossPoint& point : history.eval) {
    if (!std::isfinite(point.loss)) continue;
    svg << "<circle cx=\"" << axes.x(static_cast<double>(point.step)) << "\" cy=\"" << axes.y(point.loss)
        << "\" r=\"3\" fill=\"#e07b00\"/>\n";
  }
  svg << "</g>\n<g id=\"legend\">\n"
      << "<line x1=\"" << plot_right - 150 << "\" y1=\"" << kTop + 12 << "\" x2=\"" << plot_right - 126 << "\" y2=\""
      << kTop + 12 << "\" stroke=\"#1f6fb4\" stroke-width=\"2\"/><text x=\"" << plot_right - 120 << "\" y=\""
      << kTop + 16 << "\">train loss</text>\n"
      << "<line x1=\"" << plot_right - 150 << "\" y1=\"" << kTop + 30 << "\" x2=\"" << plot_right - 126 << "\" y2=\""
      << kTop + 30 << "\" stroke=\"#e07b00\" stroke-width=\"2\"/><text x=\"" << plot_right - 120 << "\" y=\""
      << kTop + 34 << "\">eval loss</text>\n</g>\n</svg>\n";

  std::ofstream out(path, std::ios::trunc);
  out << svg.str();
  out.close();
  if (!out) throw RuntimeFailure("--plot: cannot write " + path);
}

}  // namespace cli
