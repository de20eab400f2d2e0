// Held-out measurements, with a soft prompt or with the base model alone (adapter NULL):
// the loss per target token, label-word accuracy (the label whose continuation is most likely
// among all labels), and the greedy generation's first line (for exact match and for showing).
#pragma once

#include <string>
#include <vector>

#include "encoding.h"

namespace cli {

struct HeldOutLoss {
  double loss = 0;     // mean negative log-likelihood per target token, in nats
  int64_t tokens = 0;  // target tokens counted
};

HeldOutLoss held_out_loss(const sp_model* model, const sp_adapter* adapter, const EncodedData& data,
                          int32_t batch_size);

// The distinct label words of the data sets given, in first-seen order.
std::vector<std::string> distinct_labels(const std::vector<const EncodedData*>& data);

// Fraction of rows whose own label word has the highest log-likelihood among labels; each row's
// winning label goes to *predicted when given.
double label_accuracy(sp_model* model, sp_adapter* adapter, const Encoder& encoder, const EncodedData& data,
                      const std::vector<std::string>& labels, int32_t batch_size,
                      std::vector<std::string>* predicted = nullptr);

// The greedy generation's first line for the listed rows (special tokens skipped; stops at a
// newline, the model's EOS or max_new_tokens).
std::vector<std::string> greedy_first_lines(sp_model* model, sp_adapter* adapter, const sp_tokenizer* tokenizer,
                                            const EncodedData& data, const std::vector<size_t>& rows,
                                            int32_t max_new_tokens, int32_t batch_size);

// Fraction of rows whose greedy first line equals the completion's first line, both trimmed.
double exact_match(const std::vector<std::string>& generated, const EncodedData& data);

std::string trimmed(const std::string& text);
std::string first_line(const std::string& text);

}  // namespace cli
