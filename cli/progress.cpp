#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace cli {

std::string clock_text(double seconds) {
  if (seconds < 0) seconds = 0;
  const long total = static_cast<long>(seconds + 0.5);
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  } else {
    std::snprintf(text, sizeof text, "%ld:%02ld", total / 60, total % 60);
  }
  return text;
}

Progress::Progress(int64_t first_step, int64_t total_steps)
    : terminal_(isatty(STDERR_FILENO) != 0),
      first_step_(first_step),
      total_steps_(total_steps),
      start_(std::chrono::steady_clock::now()) {}

void Progress::update(int64_t step, double loss, double tokens_per_second) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int64_t done = step - first_step_;
  const double eta = done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(total_steps_ - step) : 0;
  char stats[160];
  std::snprintf(stats, sizeof stats, "%lld/%lld  ETA %s  %.0f tok/s  loss %.4f", static_cast<long long>(step),
                static_cast<long long>(total_steps_), clock_text(eta).c_str(), tokens_per_second, loss);
  if (terminal_) {
    const int width = 30;
    const int filled = total_steps_ > 0 ? static_cast<int>(width * step / total_steps_) : width;
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < width) bar += '>' + std::string(static_cast<size_t>(width - filled - 1), ' ');
    std::fprintf(stderr, "\r\033[K[%s] %s", bar.c_str(), stats);
    bar_shown_ = true;
  } else {
    const int64_t every = total_steps_ >= 10 ? total_steps_ / 10 : 1;
    if (step % every != 0 && step != total_steps_) return;
    std::fprintf(stderr, "step %s  elapsed %s\n", stats, clock_text(elapsed).c_str());
  }
  std::fflush(stderr);
}

void Progress::clear_bar() {
  if (terminal_ && bar_shown_) std::fputs("\r\033[K", stderr);
}

void Progress::note(const std::string& line) {
  clear_bar();
  std::fprintf(stderr, "%s\n", line.c_str());
  bar_shown_ = false;
  std::fflush(stderr);
}

void Progress::finish() {
  if (terminal_ && bar_shown_) std::fputs("\n", stderr);
  bar_shown_ = false;
  std::fflush(stderr);
}

}  // namespace cli
