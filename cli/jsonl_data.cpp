#include "jsonl_data.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "failures.h"

namespace cli {

namespace {

std::string keys_of(DataFormat format) {
  switch (format) {
    case DataFormat::PromptCompletion:
      return "{\"prompt\", \"completion\"}";
    case DataFormat::Text:
      return "{\"text\"}";
    case DataFormat::Label:
      return "{\"text\", \"label\"}";
  }
  return "";
}

// The format a line's keys make, or a message saying what is wrong with them.
bool format_of_keys(const std::set<std::string>& keys, DataFormat* format, std::string* problem) {
  for (const std::string& key : keys) {
    if (key != "prompt" && key != "completion" && key != "text" && key != "label" && key != "task") {
      *problem = "unknown key \"" + key + "\" (the formats are {\"prompt\", \"completion\"}, {\"text\"}, " +
                 "{\"text\", \"label\"})";
      return false;
    }
  }
  const bool prompt = keys.count("prompt") != 0, completion = keys.count("completion") != 0;
  const bool text = keys.count("text") != 0, label = keys.count("label") != 0;
  if ((prompt || completion) && (text || label)) {
    *problem = "mixes the keys of {\"prompt\", \"completion\"} and {\"text\"...}";
    return false;
  }
  if (prompt || completion) {
    if (!prompt || !completion) {
      *problem = std::string("missing key \"") + (prompt ? "completion" : "prompt") + "\"";
      return false;
    }
    *format = DataFormat::PromptCompletion;
    return true;
  }
  if (!text) {
    *problem = label ? "missing key \"text\"" : "no \"prompt\"/\"completion\" or \"text\" key";
    return false;
  }
  *format = label ? DataFormat::Label : DataFormat::Text;
  return true;
}

std::string string_value(const nlohmann::json& object, const char* key, bool may_be_empty, std::string* problem) {
  const nlohmann::json& value = object.at(key);
  if (!value.is_string()) {
    *problem = std::string("\"") + key + "\" must be a string, not " + value.type_name();
    return "";
  }
  std::string text = value.get<std::string>();
  if (text.empty() && !may_be_empty) *problem = std::string("\"") + key + "\" is empty";
  return text;
}

}  // namespace

const char* format_name(DataFormat format) {
  switch (format) {
    case DataFormat::PromptCompletion:
      return "prompt/completion";
    case DataFormat::Text:
      return "text";
    case DataFormat::Label:
      return "text/label";
  }
  return "";
}

Dataset read_jsonl(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RuntimeFailure(path + ": cannot be read");
  Dataset data;
  data.path = path;
  std::string line_text;
  int line = 0;
  bool format_known = false;
  while (std::getline(in, line_text)) {
    ++line;
    if (!line_text.empty() && line_text.back() == '\r') line_text.pop_back();
    const std::string where = path + ":" + std::to_string(line) + ": ";
    if (line_text.find_first_not_of(" \t") == std::string::npos) throw RuntimeFailure(where + "empty line");
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(line_text);
    } catch (const nlohmann::json::exception& error) {
      throw RuntimeFailure(where + "not JSON (" + error.what() + ")");
    }
    if (!object.is_object()) throw RuntimeFailure(where + "not a JSON object but " + object.type_name());
    std::set<std::string> keys;
    for (const auto& item : object.items()) keys.insert(item.key());
    DataFormat format{};
    std::string problem;
    if (!format_of_keys(keys, &format, &problem)) throw RuntimeFailure(where + problem);
    if (!format_known) {
      data.format = format;
      format_known = true;
    } else if (format != data.format) {
      throw RuntimeFailure(where + "a " + keys_of(format) + " row in a file whose first line is " +
                           keys_of(data.format));
    }
    Example example;
    example.line = line;
    if (format == DataFormat::PromptCompletion) {
      example.prompt = string_value(object, "prompt", true, &problem);
      if (problem.empty()) example.completion = string_value(object, "completion", false, &problem);
    } else if (format == DataFormat::Label) {
      example.prompt = string_value(object, "text", true, &problem);
      if (problem.empty()) example.completion = string_value(object, "label", false, &problem);
    } else {
      example.completion = string_value(object, "text", false, &problem);
    }
    if (problem.empty() && object.contains("task")) {
      const nlohmann::json& task = object.at("task");
      if (!task.is_number_integer() || task.get<int64_t>() < 0 || task.get<int64_t>() > (1 << 20)) {
        problem = "\"task\" must be a whole number in [0, 1048576]";
      } else {
        example.task = task.get<int>();
      }
    }
    if (!problem.empty()) throw RuntimeFailure(where + problem);
    data.rows.push_back(std::move(example));
  }
  if (in.bad()) throw RuntimeFailure(path + ": reading failed");
  if (data.rows.empty()) throw RuntimeFailure(path + ": no rows (one JSON object per line expected)");
  return data;
}

}  // namespace cli
