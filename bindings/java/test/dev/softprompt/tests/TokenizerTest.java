package dev.softprompt.tests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.softprompt.Model;
import dev.softprompt.SoftPromptException;
import dev.softprompt.Status;
import dev.softprompt.Tokenizer;
import dev.softprompt.TokenizerInfo;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Through Java, a tokenizer gives the ids and texts that Hugging Face {@code tokenizers} gives for
 * the same tokenizer.json (byte-level BPE, SentencePiece BPE with byte fallback, WordPiece,
 * Unigram), on non-ASCII text, text holding U+0000 and the empty text.
 */
public class TokenizerTest {
  /** The non-ASCII text of the fixture (Cyrillic, CJK, emoji with a modifier and ZWJ sequence). */
  private static final String MIXED =
      "Привет, мир! 你好，世界。 Emoji: 👋🏽 👨\u200d👩\u200d👧\u200d👦 ✨";

  private static TokenizerReference reference;
  private static final java.util.Map<String, Tokenizer> tokenizers = new java.util.LinkedHashMap<>();

  @BeforeClass
  public static void loadTokenizers() throws IOException {
    reference = TokenizerReference.get();
    for (TokenizerReference.Family family : reference.families.values()) {
      tokenizers.put(family.name, Tokenizer.load(family.path));
    }
  }

  @AfterClass
  public static void closeTokenizers() {
    tokenizers.values().forEach(Tokenizer::close);
  }

  @Test
  public void encodeGivesTheIdsOfTokenizers() {
    for (TokenizerReference.Family family : reference.families.values()) {
      Tokenizer tokenizer = tokenizers.get(family.name);
      for (TokenizerReference.Text text : family.texts) {
        String where = family.name + " \"" + text.text + "\"";
        assertArrayEquals(where + " with special tokens", text.withSpecial, tokenizer.encode(text.text, true));
        assertArrayEquals(where + " without", text.withoutSpecial, tokenizer.encode(text.text, false));
      }
    }
    assertTrue(family("gpt2").text(MIXED).withoutSpecial.length > 0);
  }

  /**
   * Both decodes equal tokenizers' decode of the ids with special tokens; the last text's decode
   * is 1300 bytes for 100 ids, beyond the first buffer (8 bytes per id + 64), so it takes the
   * second call.
   */
  @Test
  public void decodeGivesTheTextOfTokenizers() {
    for (TokenizerReference.Family family : reference.families.values()) {
      Tokenizer tokenizer = tokenizers.get(family.name);
      for (TokenizerReference.Text text : family.texts) {
        String where = family.name + " \"" + text.text + "\"";
        assertEquals(where, text.decoded, tokenizer.decode(text.withSpecial, false));
        assertEquals(where + " skipping special tokens", text.decodedSkipping, tokenizer.decode(text.withSpecial, true));
      }
    }
    String specials = String.join("", java.util.Collections.nCopies(100, "<|endoftext|>"));
    assertEquals(1300, tokenizers.get("gpt2").decode(family("gpt2").text(specials).withSpecial, false)
        .getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
  }

  /** Byte-level BPE loses nothing: every text comes back exactly, U+0000 and emoji included. */
  @Test
  public void byteLevelDecodeRoundTrips() {
    Tokenizer gpt2 = tokenizers.get("gpt2");
    for (TokenizerReference.Text text : family("gpt2").texts) {
      assertEquals(text.text, gpt2.decode(gpt2.encode(text.text, false), false));
    }
  }

  /**
   * BERT's post-processor puts [CLS] before and [SEP] after the text's ids (its template, written
   * out here); without special tokens they are absent, and skipping them in decode drops them.
   */
  @Test
  public void specialTokensOnAndOff() {
    Tokenizer bert = tokenizers.get("bert");
    int cls = bert.tokenToId("[CLS]");
    int sep = bert.tokenToId("[SEP]");
    int[] plain = bert.encode(MIXED, false);
    int[] special = bert.encode(MIXED, true);
    int[] expected = new int[plain.length + 2];
    expected[0] = cls;
    System.arraycopy(plain, 0, expected, 1, plain.length);
    expected[plain.length + 1] = sep;
    assertArrayEquals(expected, special);
    assertTrue(bert.decode(special, false).startsWith("[CLS] "));
    assertFalse(bert.decode(special, true).contains("[CLS]"));
    // T5 appends </s> (its eos) and nothing else.
    Tokenizer t5 = tokenizers.get("t5");
    int[] t5Plain = t5.encode(MIXED, false);
    int[] t5Special = t5.encode(MIXED, true);
    assertArrayEquals(t5Plain, Arrays.copyOf(t5Special, t5Plain.length));
    assertEquals(t5Plain.length + 1, t5Special.length);
    assertEquals(t5.info().eosId(), t5Special[t5Plain.length]);
  }

  @Test
  public void infoGivesTheVocabularySizeAndSpecialIds() {
    for (TokenizerReference.Family family : reference.families.values()) {
      TokenizerInfo info = tokenizers.get(family.name).info();
      assertEquals(family.name, family.vocabSize, info.vocabSize());
      assertEquals(family.name + " bos", family.bos, info.bosId());
      assertEquals(family.name + " eos", family.eos, info.eosId());
      assertEquals(family.name + " pad", family.pad, info.padId());
      assertEquals(family.name + " unk", family.unk, info.unkId());
    }
  }

  @Test
  public void idsAndTokensMapBothWays() {
    for (TokenizerReference.Family family : reference.families.values()) {
      Tokenizer tokenizer = tokenizers.get(family.name);
      assertFalse(family.name, family.tokens.isEmpty());
      for (Map.Entry<Integer, String> token : family.tokens.entrySet()) {
        assertEquals(family.name + " id " + token.getKey(), token.getValue(), tokenizer.idToToken(token.getKey()));
        int back = family.tokenIds.get(token.getKey());
        if (back >= 0) {
          assertEquals(family.name + " \"" + token.getValue() + "\"", back, tokenizer.tokenToId(token.getValue()));
        } else {
          assertEquals(Status.NOT_FOUND,
              assertThrows(SoftPromptException.class, () -> tokenizer.tokenToId(token.getValue())).status());
        }
      }
    }
  }

  @Test
  public void idsOutsideTheVocabularyAreOutOfRange() {
    Tokenizer gpt2 = tokenizers.get("gpt2");
    int size = (int) gpt2.info().vocabSize();
    SoftPromptException e = assertThrows(SoftPromptException.class, () -> gpt2.decode(new int[] {5, size}, false));
    assertEquals(Status.OUT_OF_RANGE, e.status());
    assertTrue(e.getMessage(), e.getMessage().contains(Integer.toString(size)));
    assertEquals(Status.OUT_OF_RANGE, assertThrows(SoftPromptException.class, () -> gpt2.idToToken(size)).status());
    assertEquals(Status.OUT_OF_RANGE, assertThrows(SoftPromptException.class, () -> gpt2.idToToken(-1)).status());
    assertEquals(Status.NOT_FOUND,
        assertThrows(SoftPromptException.class, () -> gpt2.tokenToId("no such token \u2603")).status());
    // The tokenizer is still usable after its errors.
    assertArrayEquals(family("gpt2").text(MIXED).withoutSpecial, gpt2.encode(MIXED, false));
  }

  /**
   * A lone surrogate has no UTF-8 form: the binding replaces it with U+FFFD, so the ids are those
   * tokenizers gives for the text with U+FFFD in its place (a high and a low surrogate alone).
   */
  @Test
  public void loneSurrogatesEncodeAsTheReplacementCharacter() {
    for (TokenizerReference.Family family : reference.families.values()) {
      int[] expected = family.text("lone \uFFFD here").withSpecial;
      Tokenizer tokenizer = tokenizers.get(family.name);
      assertArrayEquals(family.name, expected, tokenizer.encode("lone \uD83D here", true));
      assertArrayEquals(family.name, expected, tokenizer.encode("lone \uDE00 here", true));
    }
  }

  @Test
  public void closedTokenizerThrows() throws IOException {
    Tokenizer tokenizer = Tokenizer.load(family("gpt2").path);
    tokenizer.close();
    tokenizer.close(); // idempotent
    assertTrue(tokenizer.isClosed());
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> tokenizer.encode("x", true));
    assertTrue(e.getMessage(), e.getMessage().contains("Tokenizer is closed"));
    assertThrows(IllegalStateException.class, () -> tokenizer.decode(new int[] {1}, false));
    assertThrows(IllegalStateException.class, () -> tokenizer.idToToken(1));
    assertThrows(IllegalStateException.class, () -> tokenizer.tokenToId("x"));
    assertThrows(IllegalStateException.class, tokenizer::info);
  }

  @Test
  public void missingFileIsNotFound() throws IOException {
    String missing = TestSupport.scratch("tokenizer").resolve("no_such_tokenizer.json").toString();
    SoftPromptException e = assertThrows(SoftPromptException.class, () -> Tokenizer.load(missing));
    assertEquals(Status.NOT_FOUND, e.status());
  }

  /**
   * A model whose folder holds tokenizer.json hands out that tokenizer, which outlives the model;
   * the test model without one reports NOT_FOUND.
   */
  @Test
  public void modelGivesItsFoldersTokenizer() {
    Tokenizer tokenizer;
    try (Model model = Model.open(reference.modelWithTokenizer)) {
      tokenizer = model.tokenizer();
    }
    try {
      assertArrayEquals(family(reference.modelTokenizer).text(MIXED).withSpecial, tokenizer.encode(MIXED, true));
    } finally {
      tokenizer.close();
    }
    try (Model model = TestSupport.openModel()) {
      assertEquals(Status.NOT_FOUND, assertThrows(SoftPromptException.class, model::tokenizer).status());
    }
  }

  /** One tokenizer, eight threads at once: every result is the single-threaded one. */
  @Test
  public void threadsShareOneTokenizer() throws Exception {
    Tokenizer gpt2 = tokenizers.get("gpt2");
    int[] expected = family("gpt2").text(MIXED).withSpecial;
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Boolean>> results = new ArrayList<>();
      for (int t = 0; t < 8; ++t) {
        results.add(pool.submit(() -> {
          for (int i = 0; i < 200; ++i) {
            if (!Arrays.equals(expected, gpt2.encode(MIXED, true)) || !MIXED.equals(gpt2.decode(expected, true))) {
              return false;
            }
          }
          return true;
        }));
      }
      for (Future<Boolean> result : results) {
        assertTrue(result.get());
      }
    } finally {
      pool.shutdown();
    }
  }

  private static TokenizerReference.Family family(String name) {
    return reference.family(name);
  }
}
