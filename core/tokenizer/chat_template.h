// Chat templates: where a tokenizer's comes from, and rendering a conversation with it.
//
// Templates are Jinja programs; softprompt does not run Jinja. It recognises a template's family and
// renders the family's format, which is what the template computes for plain conversations (roles and
// text; no tools, no images). Recognised: ChatML ("<|im_start|>" role "\n" content "<|im_end|>\n",
// SmolLM2, Qwen2), including the default system message the template inserts when a conversation does
// not open with one (the first literal "<|im_start|>system\n...<|im_end|>" in the template).
#pragma once

#include <string>
#include <vector>

namespace sp::tok {

// A folder's template: chat_template.jinja (as transformers 5 saves it), else tokenizer_config.json's
// "chat_template" (a string, or a list of {"name", "template"} whose "default" entry is used). ""
// when there is none. Format when tokenizer_config.json is malformed.
std::string read_chat_template(const std::string& folder);

struct ChatMessage {
  std::string role, content;
};

// The text the template renders. NotFound when `chat_template` is empty, Unsupported (quoting its
// beginning) when it is not of a recognised family.
std::string render_chat(const std::string& chat_template, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt);

}  // namespace sp::tok
