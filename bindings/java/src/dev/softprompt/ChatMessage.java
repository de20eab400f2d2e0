package dev.softprompt;

/** One message of a conversation, for {@link Tokenizer#applyChatTemplate}. */
public final class ChatMessage {
  private final String role;
  private final String content;

  /** role: "system", "user", "assistant", ...; content: the message's text. */
  public ChatMessage(String role, String content) {
    this.role = Checks.notNull(role, "role");
    this.content = Checks.notNull(content, "content");
  }

  public String role() {
    return role;
  }

  public String content() {
    return content;
  }
}
