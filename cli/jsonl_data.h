// Training and evaluation data: JSON Lines, one object per line, in one of three formats (the
// first line decides; every line must then have the same keys):
//   {"prompt": ..., "completion": ...}  loss on the completion's tokens only
//   {"text": ...}                        loss on every token (after the first)
//   {"text": ..., "label": ...}          classification: the label word is the completion
// Any row may also carry "task": a whole number >= 0 (multitask prompt tuning's task id).
#pragma once

#include <string>
#include <vector>

namespace cli {

enum class DataFormat { PromptCompletion, Text, Label };

struct Example {
  int line = 0;            // 1-based line in the file, for messages
  std::string prompt;      // prompt/completion: the prompt; label data: the text; text data: empty
  std::string completion;  // the completion, the label word, or (text data) the whole text
  int task = 0;
};

struct Dataset {
  std::string path;
  DataFormat format = DataFormat::PromptCompletion;
  std::vector<Example> rows;
};

// Reads and checks every line before anything uses the data. A bad line (not JSON, not an object,
// a missing, unknown or non-string key, another format than the first line's, an empty value or
// an empty line) is a RuntimeFailure "FILE:LINE: what is wrong".
Dataset read_jsonl(const std::string& path);

const char* format_name(DataFormat format);

}  // namespace cli
