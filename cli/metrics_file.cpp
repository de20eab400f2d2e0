#include "metrics_file.h"

#include <nlohmann/json.hpp>

#include "failures.h"

namespace cli {

MetricsFile::MetricsFile(const std::string& path, int64_t keep_until, LossHistory* earlier) : path_(path) {
  if (path.empty()) return;
  std::vector<std::string> kept;
  if (keep_until >= 0) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      const nlohmann::json row = nlohmann::json::parse(line, nullptr, false);
      if (!row.is_object() || !row.contains("step") || !row["step"].is_number_integer()) continue;
      const int64_t step = row["step"].get<int64_t>();
      if (step > keep_until) continue;
      kept.push_back(line);
      if (row.value("type", "") == "train" && row.contains("loss")) {
        earlier->train.push_back({step, row["loss"].get<double>()});
      } else if (row.value("type", "") == "eval" && row.contains("eval_loss")) {
        earlier->eval.push_back({step, row["eval_loss"].get<double>()});
      }
    }
  }
  out_.open(path, std::ios::trunc);
  if (!out_) throw RuntimeFailure("--metrics: cannot write " + path);
  for (const std::string& line : kept) write(line);
}

void MetricsFile::write(const std::string& line) {
  out_ << line << '\n';
  out_.flush();
  if (!out_) throw RuntimeFailure("--metrics: writing " + path_ + " failed");
}

void MetricsFile::train_row(int64_t step, int64_t epoch, double loss, double learning_rate, double grad_norm,
                            double tokens_per_second) {
  if (path_.empty()) return;
  write(nlohmann::json{{"type", "train"},
                       {"step", step},
                       {"epoch", epoch},
                       {"loss", loss},
                       {"lr", learning_rate},
                       {"grad_norm", grad_norm},
                       {"tokens_per_s", tokens_per_second}}
            .dump());
}

void MetricsFile::eval_row(int64_t step, double eval_loss, int64_t eval_tokens) {
  if (path_.empty()) return;
  write(
      nlohmann::json{{"type", "eval"}, {"step", step}, {"eval_loss", eval_loss}, {"eval_tokens", eval_tokens}}.dump());
}

}  // namespace cli
