package dev.softprompt;

import dev.softprompt.internal.SoftPromptNative;
import dev.softprompt.internal.sp_tokenizer;
import dev.softprompt.internal.sp_tokenizer_info;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.List;

/**
 * Text to token ids and back (sp_tokenizer), with the ids Hugging Face {@code tokenizers} gives for
 * the same tokenizer.json. Opened from a tokenizer.json file or a folder holding one ({@link
 * #load}), or taken from a model whose folder has one ({@link Model#tokenizer()}). Immutable: any
 * number of threads may use one tokenizer at the same time.
 *
 * <p>Close it when done (try-with-resources); calls after close() throw IllegalStateException.
 * A tokenizer taken from a model is independent of it: it stays usable after the model is closed.
 *
 * <p><b>Strings.</b> Text crosses to the library as UTF-8 with its length, so it may hold U+0000.
 * A Java string may hold a lone surrogate (half of a pair, alone), which has no UTF-8 form: it is
 * replaced by U+FFFD REPLACEMENT CHARACTER (the bytes EF BF BD) before the library sees the text,
 * so {@code encode("a\uD800b", ...)} gives the ids of {@code "a\uFFFDb"}. (String.getBytes alone
 * would put '?' there; U+FFFD is what the library and {@code tokenizers} put in place of invalid
 * UTF-8 when decoding.) Decoded text is always valid UTF-8, so decode never returns a lone
 * surrogate; where the ids end inside a character (a byte-level vocabulary), the incomplete
 * character is decoded as U+FFFD, as {@code tokenizers} does.
 */
public final class Tokenizer implements AutoCloseable {
  /** First guess for one vocabulary string, in bytes; longer ones cost a second call. */
  private static final long TOKEN_BYTES_GUESS = 64;

  private final NativeHandle<sp_tokenizer> handle;
  private final TokenizerInfo info;

  private Tokenizer(sp_tokenizer pointer, TokenizerInfo info) {
    this.handle = NativeHandle.register(this, "Tokenizer", pointer, SoftPromptNative::sp_tokenizer_free);
    this.info = info;
  }

  /**
   * Opens a tokenizer.json file, or a folder that holds one (then its tokenizer_config.json,
   * special_tokens_map.json, generation_config.json and config.json give the special ids).
   *
   * @throws SoftPromptException NOT_FOUND, FORMAT, UNSUPPORTED (an unknown component, named), IO
   */
  public static Tokenizer load(String path) {
    return wrap(SoftPromptNative.spb_tokenizer_load(path));
  }

  /**
   * Wraps what a creating call returned (null: that call failed, just now on this thread) and
   * reads its info once.
   */
  static Tokenizer wrap(sp_tokenizer pointer) {
    if (pointer == null) {
      throw Errors.last();
    }
    sp_tokenizer_info nativeInfo = SoftPromptNative.spb_tokenizer_info(pointer);
    try {
      if (nativeInfo.getStruct_size() == 0) {
        SoftPromptException failure = Errors.last();
        SoftPromptNative.sp_tokenizer_free(pointer);
        throw failure;
      }
      return new Tokenizer(pointer,
          new TokenizerInfo(nativeInfo.getVocab_size(), nativeInfo.getBos_id(), nativeInfo.getEos_id(),
              nativeInfo.getPad_id(), nativeInfo.getUnk_id()));
    } finally {
      nativeInfo.delete();
    }
  }

  /** Vocabulary size and special ids (read once when opened: a tokenizer never changes). */
  public TokenizerInfo info() {
    handle.acquire();
    handle.release();
    return info;
  }

  /**
   * The ids of text. With addSpecialTokens, the post-processor's special tokens are added (BERT's
   * [CLS] and [SEP], LLaMA's {@code <s>}), as {@code tokenizers}' encode does by default.
   */
  public int[] encode(String text, boolean addSpecialTokens) {
    byte[] bytes = Utf8.encode(Checks.notNull(text, "text"));
    int flag = addSpecialTokens ? 1 : 0;
    sp_tokenizer tokenizer = handle.acquire();
    try {
      // Text bytes + 16: no vocabulary gives more than one id per byte, plus a few special tokens;
      // a larger result costs a second call.
      int[] ids = new int[clampedGuess(bytes.length + 16L)];
      long count;
      while ((count = SoftPromptNative.spb_tokenizer_encode(tokenizer, bytes, flag, ids)) > ids.length) {
        ids = new int[Checks.arrayLength(count, "the ids of the text", "ids")];
      }
      if (count < 0) {
        throw Errors.last();
      }
      return count == ids.length ? ids : Arrays.copyOf(ids, (int) count);
    } finally {
      handle.release();
    }
  }

  /**
   * The text of ids, through the tokenizer's decoder. With skipSpecialTokens, special tokens
   * (added tokens marked special) are left out.
   *
   * @throws SoftPromptException OUT_OF_RANGE for an id the vocabulary does not have
   */
  public String decode(int[] ids, boolean skipSpecialTokens) {
    Checks.notNull(ids, "ids");
    int flag = skipSpecialTokens ? 1 : 0;
    sp_tokenizer tokenizer = handle.acquire();
    try {
      // Eight bytes per id cover most vocabularies' strings; a longer text costs a second call.
      return readText(tokenizer, ids.length * 8L + 64, "the decoded text",
          (t, out) -> SoftPromptNative.spb_tokenizer_decode(t, ids, flag, out));
    } finally {
      handle.release();
    }
  }

  /**
   * The vocabulary string of id ("Ġworld" in a byte-level vocabulary, "##ing" in WordPiece, an
   * added token's content).
   *
   * @throws SoftPromptException OUT_OF_RANGE for an id the vocabulary does not have
   */
  public String idToToken(int id) {
    sp_tokenizer tokenizer = handle.acquire();
    try {
      return readText(tokenizer, TOKEN_BYTES_GUESS, "the token",
          (t, out) -> SoftPromptNative.spb_tokenizer_id_to_token(t, id, out));
    } finally {
      handle.release();
    }
  }

  /**
   * The id of a vocabulary string (an added token's content included).
   *
   * @throws SoftPromptException NOT_FOUND when the vocabulary has no such token
   */
  public int tokenToId(String token) {
    byte[] bytes = Utf8.encode(Checks.notNull(token, "token"));
    sp_tokenizer tokenizer = handle.acquire();
    try {
      int id = SoftPromptNative.spb_tokenizer_token_to_id(tokenizer, bytes);
      if (id < 0) {
        throw Errors.last();
      }
      return id;
    } finally {
      handle.release();
    }
  }

  /**
   * Renders a conversation with the tokenizer's chat template (tokenizer_config.json's
   * "chat_template", a GGUF file's), as the template would; encode the result without special
   * tokens. With addGenerationPrompt the text ends with the assistant's opening. Templates are
   * recognised by family (ChatML: SmolLM2, Qwen2).
   *
   * @throws SoftPromptException NOT_FOUND (no chat template), UNSUPPORTED (another family)
   */
  public String applyChatTemplate(List<ChatMessage> messages, boolean addGenerationPrompt) {
    Checks.notNull(messages, "messages");
    ByteArrayOutputStream roles = new ByteArrayOutputStream();
    ByteArrayOutputStream contents = new ByteArrayOutputStream();
    int[] sizes = new int[messages.size()];
    for (int i = 0; i < sizes.length; ++i) {
      ChatMessage message = Checks.notNull(messages.get(i), "messages[" + i + "]");
      byte[] role = Utf8.encode(message.role());
      byte[] content = Utf8.encode(message.content());
      roles.write(role, 0, role.length);
      roles.write(0); // each role ends with a NUL
      contents.write(content, 0, content.length);
      sizes[i] = content.length;
    }
    byte[] roleBytes = roles.toByteArray();
    byte[] contentBytes = contents.toByteArray();
    int flag = addGenerationPrompt ? 1 : 0;
    sp_tokenizer tokenizer = handle.acquire();
    try {
      return readText(tokenizer, contentBytes.length + 64L * sizes.length + 64, "the conversation",
          (t, out) -> SoftPromptNative.spb_tokenizer_apply_chat_template(t, roleBytes, contentBytes, sizes, flag, out));
    } finally {
      handle.release();
    }
  }

  public boolean isClosed() {
    return handle.isClosed();
  }

  /** Releases the native tokenizer. Idempotent. */
  @Override
  public void close() {
    handle.close();
  }

  /** One of the spb_tokenizer_* calls that write text into out and return its full size (or -1). */
  private interface TextCall {
    long apply(sp_tokenizer tokenizer, byte[] out);
  }

  /**
   * Runs call with a buffer of guess bytes, and once more with one of the size it reported when
   * that was too small (the library writes a NUL after the text, so the text fits when its size
   * is below the buffer's length).
   */
  private static String readText(sp_tokenizer tokenizer, long guess, String what, TextCall call) {
    return SizedOutput.readText(guess, what, out -> call.apply(tokenizer, out));
  }

  /** A first buffer length: the guess, within what a Java array holds. */
  private static int clampedGuess(long guess) {
    return (int) Math.min(guess, Integer.MAX_VALUE - 8);
  }
}
