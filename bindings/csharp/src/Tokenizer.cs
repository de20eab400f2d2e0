using System;
using System.Collections.Generic;
using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>
    /// Text to token ids and back (sp_tokenizer), with the ids Hugging Face <c>tokenizers</c> gives
    /// for the same tokenizer.json. Opened from a tokenizer.json file or a folder holding one
    /// (<see cref="Load"/>), or taken from a model whose folder has one (<see cref="Model.GetTokenizer"/>).
    /// Immutable: any number of threads may use one tokenizer at the same time. Dispose it when done;
    /// calls after Dispose throw ObjectDisposedException. A tokenizer taken from a model is
    /// independent of it and stays usable after the model is disposed.
    /// </summary>
    /// <remarks>
    /// Text crosses to the library as UTF-8 with its length, so it may hold U+0000. A C# string may
    /// hold a lone surrogate (half of a pair, alone), which has no UTF-8 form: it is replaced by
    /// U+FFFD REPLACEMENT CHARACTER (the bytes EF BF BD) before the library sees the text, so
    /// <c>Encode("a\uD800b")</c> gives the ids of <c>"a\uFFFDb"</c>; U+FFFD is also what the library
    /// and <c>tokenizers</c> put in place of invalid UTF-8 when decoding. Decoded text is always
    /// valid UTF-8, so Decode never returns a lone surrogate; where the ids end inside a character
    /// (a byte-level vocabulary), the incomplete character is decoded as U+FFFD, as <c>tokenizers</c>
    /// does.
    /// </remarks>
    public sealed class Tokenizer : IDisposable
    {
        // First guess for one vocabulary string, in bytes; longer ones cost a second call.
        private const long TokenBytesGuess = 64;
        // The longest array a first guess allocates (the CLR's limit is a little under 2^31).
        private const long LargestGuess = int.MaxValue - 64;

        private readonly TokenizerHandle handle;
        private readonly TokenizerInfo info;

        private Tokenizer(TokenizerHandle handle)
        {
            this.handle = handle;
            try
            {
                NativeTokenizerInfo native = Native.spb_tokenizer_info(handle);
                if (native.StructSize == UIntPtr.Zero)
                    throw Errors.Last("Tokenizer.Info");
                StructLayouts.Verify<NativeTokenizerInfo>(native.StructSize);
                info = new TokenizerInfo(native); // read once: a tokenizer never changes
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }

        /// <summary>
        /// Opens a tokenizer.json file, or a folder that holds one (then its tokenizer_config.json,
        /// special_tokens_map.json, generation_config.json and config.json give the special ids).
        /// </summary>
        /// <exception cref="SoftPromptException">NotFound, Format, Unsupported (an unknown component, named), IO.</exception>
        public static Tokenizer Load(string path)
        {
            if (path == null)
                throw new ArgumentNullException("path");
            return new Tokenizer(Errors.CheckHandle(Native.spb_tokenizer_load(path), "Tokenizer.Load"));
        }

        /// <summary>Wraps the tokenizer of a model (Model.GetTokenizer).</summary>
        internal static Tokenizer OfModel(ModelHandle model)
        {
            return new Tokenizer(Errors.CheckHandle(Native.spb_model_tokenizer(model), "Model.GetTokenizer"));
        }

        /// <summary>Vocabulary size and special ids.</summary>
        public TokenizerInfo Info
        {
            get
            {
                NativeHandle.Live(handle, typeof(Tokenizer));
                return info;
            }
        }

        /// <summary>
        /// The ids of <paramref name="text"/>. With <paramref name="addSpecialTokens"/>, the
        /// post-processor's special tokens are added (BERT's [CLS] and [SEP], LLaMA's &lt;s&gt;), as
        /// <c>tokenizers</c>' encode does by default.
        /// </summary>
        public int[] Encode(string text, bool addSpecialTokens = true)
        {
            if (text == null)
                throw new ArgumentNullException("text");
            byte[] bytes = Utf8.EncodeText(text);
            int flag = addSpecialTokens ? 1 : 0;
            // Text bytes + 16: no vocabulary gives more than one id per byte, plus a few special
            // tokens; a larger result costs a second call.
            var ids = new int[Guess(bytes.Length + 16L)];
            long count;
            while ((count = Native.spb_tokenizer_encode(Handle, bytes, flag, ids)) > ids.Length)
                ids = new int[checked((int)count)];
            if (count < 0)
                throw Errors.Last("Tokenizer.Encode");
            if (count < ids.Length)
                Array.Resize(ref ids, (int)count);
            return ids;
        }

        /// <summary>
        /// The text of <paramref name="ids"/>, through the tokenizer's decoder. With
        /// <paramref name="skipSpecialTokens"/>, special tokens (added tokens marked special) are left out.
        /// </summary>
        /// <exception cref="SoftPromptException">OutOfRange for an id the vocabulary does not have.</exception>
        public string Decode(int[] ids, bool skipSpecialTokens = false)
        {
            if (ids == null)
                throw new ArgumentNullException("ids");
            int flag = skipSpecialTokens ? 1 : 0;
            // Eight bytes per id cover most vocabularies' strings; a longer text costs a second call.
            return ReadText(ids.Length * 8L + 64, "Tokenizer.Decode",
                            output => Native.spb_tokenizer_decode(Handle, ids, flag, output));
        }

        /// <summary>
        /// The vocabulary string of <paramref name="id"/> ("Ġworld" in a byte-level vocabulary,
        /// "##ing" in WordPiece, an added token's content).
        /// </summary>
        /// <exception cref="SoftPromptException">OutOfRange for an id the vocabulary does not have.</exception>
        public string IdToToken(int id)
        {
            return ReadText(TokenBytesGuess, "Tokenizer.IdToToken",
                            output => Native.spb_tokenizer_id_to_token(Handle, id, output));
        }

        /// <summary>The id of a vocabulary string (an added token's content included).</summary>
        /// <exception cref="SoftPromptException">NotFound when the vocabulary has no such token.</exception>
        public int TokenToId(string token)
        {
            if (token == null)
                throw new ArgumentNullException("token");
            int id = Native.spb_tokenizer_token_to_id(Handle, Utf8.EncodeText(token));
            if (id < 0)
                throw Errors.Last("Tokenizer.TokenToId");
            return id;
        }

        /// <summary>
        /// Renders a conversation with the tokenizer's chat template (tokenizer_config.json's
        /// "chat_template", a GGUF file's), as the template would; encode the result without special
        /// tokens. With <paramref name="addGenerationPrompt"/> the text ends with the assistant's
        /// opening. Templates are recognised by family (ChatML: SmolLM2, Qwen2).
        /// </summary>
        /// <exception cref="SoftPromptException">NotFound (no chat template), Unsupported (another family).</exception>
        public string ApplyChatTemplate(IList<ChatMessage> messages, bool addGenerationPrompt)
        {
            if (messages == null)
                throw new ArgumentNullException("messages");
            var roles = new List<byte>();
            var contents = new List<byte>();
            var sizes = new int[messages.Count];
            for (int i = 0; i < sizes.Length; ++i)
            {
                if (messages[i] == null)
                    throw new ArgumentNullException("messages[" + i + "]");
                roles.AddRange(Utf8.EncodeText(messages[i].Role));
                roles.Add(0); // each role ends with a NUL
                byte[] content = Utf8.EncodeText(messages[i].Content);
                contents.AddRange(content);
                sizes[i] = content.Length;
            }
            byte[] roleBytes = roles.ToArray(), contentBytes = contents.ToArray();
            int flag = addGenerationPrompt ? 1 : 0;
            return ReadText(contentBytes.Length + 64L * sizes.Length + 64, "Tokenizer.ApplyChatTemplate",
                            output => Native.spb_tokenizer_apply_chat_template(Handle, roleBytes, contentBytes, sizes,
                                                                               flag, output));
        }

        /// <summary>True once Dispose has run.</summary>
        public bool IsDisposed
        {
            get { return handle.IsClosed; }
        }

        /// <summary>Releases the native tokenizer. Safe to call more than once.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }

        /// <summary>The live handle; ObjectDisposedException after Dispose.</summary>
        private TokenizerHandle Handle
        {
            get { return NativeHandle.Live(handle, typeof(Tokenizer)); }
        }

        /// <summary>
        /// Runs <paramref name="call"/> (which writes text into its buffer and returns the text's
        /// full size, or -1) with a buffer of <paramref name="guess"/> bytes, and once more with one
        /// of the size it reported when that was too small (the library writes a NUL after the text,
        /// so the text fits when its size is below the buffer's length).
        /// </summary>
        private static string ReadText(long guess, string what, Func<byte[], long> call)
        {
            return SizedOutput.ReadText(Guess(guess), what, call);
        }

        private static int Guess(long guess)
        {
            return (int)Math.Min(guess, LargestGuess);
        }
    }
}
