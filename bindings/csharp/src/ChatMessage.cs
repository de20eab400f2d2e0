using System;

namespace SoftPrompt
{
    /// <summary>One message of a conversation, for <see cref="Tokenizer.ApplyChatTemplate"/>.</summary>
    public sealed class ChatMessage
    {
        /// <summary><paramref name="role"/>: "system", "user", "assistant", ...; <paramref name="content"/>: its text.</summary>
        public ChatMessage(string role, string content)
        {
            if (role == null)
                throw new ArgumentNullException("role");
            if (content == null)
                throw new ArgumentNullException("content");
            Role = role;
            Content = content;
        }

        public string Role { get; private set; }

        public string Content { get; private set; }
    }
}
