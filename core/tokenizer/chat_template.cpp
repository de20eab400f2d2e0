#include "tokenizer/chat_template.h"

#include "io/file_util.h"
#include "tokenizer/utf8.h"
#include "util/errors.h"
#include "util/json_reader.h"

namespace sp::tok {

namespace {

constexpr const char* kStart = "<|im_start|>";
constexpr const char* kEnd = "<|im_end|>";

// The default system message of a ChatML template: the first "<|im_start|>system" + newline (written
// as a newline or as Jinja's "\n" escape) followed by literal text up to "<|im_end|>". Text that
// leaves the string literal (a quote, a "+", a Jinja delimiter) is an expression such as
// messages[0]['content'], not a default.
bool default_system_message(const std::string& chat_template, std::string& message) {
  const std::string opening = std::string(kStart) + "system";
  for (std::size_t at = chat_template.find(opening); at != std::string::npos;
       at = chat_template.find(opening, at + 1)) {
    std::size_t text = at + opening.size();
    if (chat_template.compare(text, 1, "\n") == 0)
      text += 1;
    else if (chat_template.compare(text, 2, "\\n") == 0)
      text += 2;
    else
      continue;
    const std::size_t end = chat_template.find(kEnd, text);
    if (end == std::string::npos) continue;
    const std::string literal = chat_template.substr(text, end - text);
    if (literal.find_first_of("'\"+{}") != std::string::npos) continue;
    message.clear();
    for (std::size_t i = 0; i < literal.size(); ++i) {  // Jinja's string escapes
      if (literal[i] == '\\' && i + 1 < literal.size()) {
        const char next = literal[++i];
        message += next == 'n' ? '\n' : next == 't' ? '\t' : next;
      } else {
        message += literal[i];
      }
    }
    return true;
  }
  return false;
}

std::string chatml_turn(const std::string& role, const std::string& content) {
  return std::string(kStart) + role + "\n" + content + kEnd + "\n";
}

}  // namespace

std::string read_chat_template(const std::string& folder) {
  const std::string jinja = io::join_path(folder, "chat_template.jinja");
  if (io::is_regular_file(jinja)) return io::read_file(jinja);
  const std::string config_path = io::join_path(folder, "tokenizer_config.json");
  if (!io::is_regular_file(config_path)) return "";
  const nlohmann::json config = parse_json(io::read_file(config_path), config_path);
  if (!config.is_object()) return "";
  auto it = config.find("chat_template");
  if (it == config.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array()) {
    for (const auto& entry : *it)
      if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
          entry["template"].is_string())
        return entry["template"].get<std::string>();
    return "";
  }
  fail(ErrorKind::Format, config_path + ": \"chat_template\" must be a string or a list of named templates");
}

std::string render_chat(const std::string& chat_template, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt) {
  if (chat_template.empty()) fail(ErrorKind::NotFound, "the tokenizer has no chat template");
  if (chat_template.find(kStart) == std::string::npos || chat_template.find(kEnd) == std::string::npos) {
    const std::string beginning = chat_template.substr(0, 60);
    fail(ErrorKind::Unsupported, "chat template of an unrecognised family (recognised: ChatML); it begins \"" +
                                     beginning + (chat_template.size() > 60 ? "...\"" : "\""));
  }
  for (std::size_t i = 0; i < messages.size(); ++i)
    for (const std::string* part : {&messages[i].role, &messages[i].content})
      if (const std::size_t bad = invalid_utf8_offset(*part); bad != std::string::npos)
        fail(ErrorKind::InvalidArgument, "message " + std::to_string(i) + "'s " +
                                             (part == &messages[i].role ? "role" : "content") +
                                             " is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  std::string text, system;
  if ((messages.empty() || messages.front().role != "system") && default_system_message(chat_template, system))
    text += chatml_turn("system", system);
  for (const ChatMessage& message : messages) text += chatml_turn(message.role, message.content);
  if (add_generation_prompt) text += std::string(kStart) + "assistant\n";
  return text;
}

}  // namespace sp::tok
