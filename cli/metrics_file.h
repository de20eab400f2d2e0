// --metrics FILE.jsonl: one JSON object per optimizer update
//   {"type":"train","step":..,"epoch":..,"loss":..,"lr":..,"grad_norm":..,"tokens_per_s":..}
// and one per evaluation
//   {"type":"eval","step":..,"eval_loss":..,"eval_tokens":..}
// A resumed run keeps the rows up to its checkpoint's step and appends after them.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace cli {

struct LossPoint {
  int64_t step = 0;
  double loss = 0;
};

struct LossHistory {
  std::vector<LossPoint> train, eval;
};

class MetricsFile {
 public:
  // path empty: nothing is written. keep_until >= 0: a resumed run; rows of earlier steps are kept
  // (and returned through *earlier), later ones dropped.
  MetricsFile(const std::string& path, int64_t keep_until, LossHistory* earlier);
  void train_row(int64_t step, int64_t epoch, double loss, double learning_rate, double grad_norm,
                 double tokens_per_second);
  void eval_row(int64_t step, double eval_loss, int64_t eval_tokens);

 private:
  void write(const std::string& line);
  std::string path_;
  std::ofstream out_;
};

}  // namespace cli
