#include "generation/generation.h"

#include <algorithm>

#include "util/errors.h"

namespace sp::generation {

Generation::Generation(Session& session, std::shared_ptr<const tok::Tokenizer> tokenizer, const Prompts& prompts,
                       GenerationSettings settings)
    : session_(session), settings_(std::move(settings)), chooser_(settings_.sampling, 0) {
  if (settings_.max_new_tokens < 1)
    fail(ErrorKind::InvalidArgument,
         "sp_generate_params.max_new_tokens must be >= 1, got " + std::to_string(settings_.max_new_tokens));
  if (!settings_.stop_strings.empty() && !tokenizer)
    fail(ErrorKind::InvalidArgument,
         "sp_generate_params.stop_strings need the model's tokenizer, and its folder has no usable tokenizer.json");
  for (std::size_t i = 0; i < settings_.stop_strings.size(); ++i)
    if (settings_.stop_strings[i].empty())
      fail(ErrorKind::InvalidArgument, "sp_generate_params.stop_strings[" + std::to_string(i) + "] is empty");
  const int64_t vocab = session_.model().config().vocab_size;
  check_ids(settings_.eos_ids.data(), settings_.eos_ids.size(), vocab, "sp_generate_params.stop_ids");

  logits_ = session_.prefill(prompts, settings_.max_new_tokens);
  const std::size_t rows = prompts.rows.size();
  chooser_ = TokenChooser(settings_.sampling, static_cast<int64_t>(rows));
  for (std::size_t row = 0; row < rows; ++row) streams_.emplace_back(tokenizer, settings_.skip_special_tokens);
  tokens_.assign(rows, {});
  reasons_.assign(rows, SP_STOP_NONE);
  running_ = rows;
  if (settings_.sampling.repetition_penalty != 1.0) {
    c10::InferenceMode guard;
    seen_ = token_presence(prompts.rows, vocab).to(session_.model().device());
  }
}

bool Generation::next(TokenEvent& event) {
  if (pending_.empty() && running_ > 0) step();
  if (pending_.empty()) return false;
  event = std::move(pending_.front());
  pending_.pop_front();
  return true;
}

void Generation::stop() {
  pending_.clear();
  for (auto& reason : reasons_)
    if (reason == SP_STOP_NONE) reason = SP_STOP_CALLBACK;
  running_ = 0;
}

sp_stop_reason Generation::stop_reason(std::size_t row, int32_t id, std::size_t text_before) {
  if (std::find(settings_.eos_ids.begin(), settings_.eos_ids.end(), id) != settings_.eos_ids.end()) return SP_STOP_EOS;
  // A stop string counts once it ends inside the text this token added (transformers' rule).
  const std::string& text = streams_[row].text();
  for (const std::string& stop : settings_.stop_strings) {
    const std::size_t from = text_before >= stop.size() ? text_before - stop.size() + 1 : 0;
    if (text.size() > text_before && text.find(stop, from) != std::string::npos) return SP_STOP_STRING;
  }
  if (static_cast<int64_t>(tokens_[row].size()) >= settings_.max_new_tokens) return SP_STOP_MAX_TOKENS;
  return SP_STOP_NONE;
}

void Generation::step() {
  c10::InferenceMode guard;
  if (!logits_.defined()) logits_ = session_.decode(last_tokens_);
  at::Tensor chosen = chooser_.choose(process_logits(settings_.sampling, logits_, seen_));
  logits_ = at::Tensor();
  last_tokens_ = chosen;
  if (seen_.defined()) seen_.scatter_(1, chosen.unsqueeze(1), true);
  at::Tensor host = chosen.to(at::kCPU);
  const int64_t* ids = host.data_ptr<int64_t>();
  for (std::size_t row = 0; row < tokens_.size(); ++row) {
    if (reasons_[row] != SP_STOP_NONE) continue;
    TokenEvent event;
    event.row = static_cast<int32_t>(row);
    event.token_id = static_cast<int32_t>(ids[row]);
    tokens_[row].push_back(event.token_id);
    const std::size_t text_before = streams_[row].text().size();
    event.text = streams_[row].push(event.token_id);
    event.stop_reason = stop_reason(row, event.token_id, text_before);
    if (event.stop_reason != SP_STOP_NONE) {
      event.text += streams_[row].finish();
      reasons_[row] = event.stop_reason;
      --running_;
    }
    pending_.push_back(std::move(event));
  }
}

}  // namespace sp::generation
