// Training progress on stderr: a bar redrawn in place when stderr is a terminal (step/total, ETA,
// tokens/s, loss), plain lines every tenth of the run otherwise (logs, pipes, CI).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace cli {

class Progress {
 public:
  Progress(int64_t first_step, int64_t total_steps);
  // After each update.
  void update(int64_t step, double loss, double tokens_per_second);
  // A line of its own (an eval result, a note), above the bar.
  void note(const std::string& line);
  // Ends the bar's line.
  void finish();

 private:
  void clear_bar();
  bool terminal_;
  int64_t first_step_, total_steps_;
  bool bar_shown_ = false;
  std::chrono::steady_clock::time_point start_;
};

// "1:05" / "1:02:03".
std::string clock_text(double seconds);

}  // namespace cli
