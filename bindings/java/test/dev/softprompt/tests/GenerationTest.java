package dev.softprompt.tests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.softprompt.Adapter;
import dev.softprompt.AdapterOptions;
import dev.softprompt.Context;
import dev.softprompt.ContextOptions;
import dev.softprompt.GenerateOptions;
import dev.softprompt.Generation;
import dev.softprompt.LogitsProcessor;
import dev.softprompt.Model;
import dev.softprompt.SoftPromptException;
import dev.softprompt.Status;
import dev.softprompt.StopReason;
import dev.softprompt.TokenEvent;
import dev.softprompt.TokenIterator;
import dev.softprompt.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.ConcurrentModificationException;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Contexts through Java on the tiny llama with a byte-level tokenizer (model vocabulary 256: the
 * generated ids are the tokenizer's byte tokens, so their text is often partial UTF-8). Expected
 * values come from the tokenizer's decode, from the model's own logits (prefill / decode, with the
 * argmax and log-softmax computed here) and from first principles.
 */
public class GenerationTest {
  /** Three prompts of different lengths, all ids below 256 ("Qz!Zq", "{|}~$%^", "$"). */
  private static final int[][] PROMPTS = {{48, 89, 0, 57, 80}, {90, 91, 92, 93, 3, 4, 61}, {3}};

  private static Model model;
  private static Tokenizer tokenizer;
  private static Context context;

  @BeforeClass
  public static void open() {
    model = Model.open(TestSupport.generationModelFolder());
    tokenizer = model.tokenizer();
    context = Context.create(model, null, new ContextOptions().maxBatchSize(4).maxLength(96));
  }

  @AfterClass
  public static void close() {
    context.close();
    tokenizer.close();
    model.close();
  }

  private static GenerateOptions greedy(int tokens) {
    return new GenerateOptions().maxNewTokens(tokens).useModelEos(false);
  }

  private static GenerateOptions sampled(int tokens, long seed) {
    return greedy(tokens).doSample(true).temperature(1.5f).topK(0).seed(seed);
  }

  private static List<TokenEvent> streamed(int[][] prompts, GenerateOptions options) {
    try (Stream<TokenEvent> events = context.stream(prompts, options)) {
      return events.collect(Collectors.toList());
    }
  }

  /** Streamed texts join to the tokenizer's decode of each row's ids; every piece is whole UTF-8. */
  @Test
  public void streamedTextIsTheDecodedTextInWholeCharacters() {
    int multiByte = 0;
    int heldBack = 0;
    for (GenerateOptions options : new GenerateOptions[] {greedy(24), sampled(48, 7)}) {
      List<TokenEvent> events = streamed(PROMPTS, options);
      for (int row = 0; row < PROMPTS.length; ++row) {
        final int r = row;
        List<TokenEvent> rowEvents = events.stream().filter(e -> e.row() == r).collect(Collectors.toList());
        int[] ids = rowEvents.stream().mapToInt(TokenEvent::tokenId).toArray();
        StringBuilder joined = new StringBuilder();
        for (int i = 0; i < rowEvents.size(); ++i) {
          String text = rowEvents.get(i).text();
          // Whole characters: the UTF-8 round trip changes nothing (a split character would have
          // been decoded as U+FFFD here, and the join below would differ from decode).
          assertEquals(text, new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8));
          assertFalse("a lone surrogate in " + text, text.codePoints().anyMatch(c -> c >= 0xD800 && c <= 0xDFFF));
          assertEquals("only the last event stops the row", i == rowEvents.size() - 1,
              rowEvents.get(i).stopReason() != StopReason.NONE);
          multiByte += text.codePoints().anyMatch(c -> c >= 0x80) ? 1 : 0;
          heldBack += text.isEmpty() ? 1 : 0;
          joined.append(text);
        }
        assertEquals(options.maxNewTokens(), ids.length);
        assertEquals("row " + row + " " + options, tokenizer.decode(ids, true), joined.toString());
      }
    }
    // The sampled rows reach non-ASCII bytes: the check above did see characters of several bytes.
    assertTrue("non-ASCII pieces: " + multiByte, multiByte > 0);
    assertTrue("pieces holding bytes back: " + heldBack, heldBack > 0);
  }

  /** Greedy by hand: prefill, then the argmax (lowest id on ties) fed back through decode. */
  private static int[] greedyByHand(int[] prompt, int tokens) {
    int vocab = (int) model.info().vocabSize();
    int[] ids = new int[tokens];
    float[] logits = context.prefill(new int[][] {prompt});
    for (int i = 0; i < tokens; ++i) {
      int best = 0;
      for (int v = 1; v < vocab; ++v) {
        best = logits[v] > logits[best] ? v : best;
      }
      ids[i] = best;
      if (i + 1 < tokens) {
        logits = context.decode(new int[] {best});
      }
    }
    return ids;
  }

  @Test
  public void streamedIdsEqualGenerateAndGreedyByHand() {
    List<TokenEvent> events = streamed(new int[][] {PROMPTS[0]}, greedy(20));
    int[] streamedIds = events.stream().mapToInt(TokenEvent::tokenId).toArray();
    Generation generation = context.generate(new int[][] {PROMPTS[0]}, greedy(20));
    assertArrayEquals(generation.ids(0), streamedIds);
    assertEquals(StopReason.MAX_TOKENS, generation.stopReason(0));
    assertEquals(StopReason.MAX_TOKENS, events.get(events.size() - 1).stopReason());
    assertEquals(tokenizer.decode(streamedIds, true), generation.text(0));
    assertArrayEquals(greedyByHand(PROMPTS[0], 20), streamedIds);
  }

  @Test
  public void eachRowOfABatchGetsWhatItGetsAlone() {
    for (GenerateOptions options : new GenerateOptions[] {greedy(16), sampled(16, 11)}) {
      Generation batch = context.generate(PROMPTS, options);
      for (int row = 0; row < PROMPTS.length; ++row) {
        Generation alone = context.generate(new int[][] {PROMPTS[row]}, options);
        // Sampling seeds each row's generator from the seed and the row index: alone, a prompt is
        // row 0, so only greedy rows must agree beyond row 0.
        if (!options.doSample() || row == 0) {
          assertArrayEquals("row " + row + " " + options, alone.ids(0), batch.ids(row));
        }
      }
    }
  }

  @Test
  public void seededSamplingIsReproducible() {
    Generation first = context.generate(PROMPTS, sampled(24, 42));
    Generation again = context.generate(PROMPTS, sampled(24, 42));
    Generation other = context.generate(PROMPTS, sampled(24, 43));
    Generation greedy = context.generate(PROMPTS, greedy(24));
    for (int row = 0; row < PROMPTS.length; ++row) {
      assertArrayEquals(first.ids(row), again.ids(row));
      assertFalse(java.util.Arrays.equals(first.ids(row), other.ids(row)));
      assertFalse(java.util.Arrays.equals(first.ids(row), greedy.ids(row)));
    }
  }

  @Test
  public void aCallbackReturningFalseStopsEveryRow() {
    List<TokenEvent> seen = new ArrayList<>();
    Generation generation = context.generate(PROMPTS, greedy(16), event -> {
      seen.add(event);
      return seen.size() < 4; // stops at the fourth event: row 0's second token
    });
    assertEquals(4, seen.size());
    Generation full = context.generate(PROMPTS, greedy(16));
    int total = 0;
    for (int row = 0; row < PROMPTS.length; ++row) {
      assertEquals(StopReason.CALLBACK, generation.stopReason(row));
      int[] ids = generation.ids(row);
      assertArrayEquals(java.util.Arrays.copyOf(full.ids(row), ids.length), ids);
      total += ids.length;
    }
    assertEquals(4, total);
    // A callback that throws stops the generation too, and its exception comes out.
    assertThrows(IllegalStateException.class, () -> context.generate(PROMPTS, greedy(16), event -> {
      throw new IllegalStateException("from the callback");
    }));
    assertArrayEquals(full.ids(2), context.generate(PROMPTS, greedy(16)).ids(2));
  }

  @Test
  public void closingTheIteratorOrStreamStopsTheGeneration() {
    TokenIterator events = context.iterator(new int[][] {PROMPTS[1]}, greedy(16));
    events.next();
    events.next();
    events.close();
    assertFalse(events.hasNext());
    Generation early = events.generation();
    assertEquals(2, early.ids(0).length);
    assertEquals(StopReason.CALLBACK, early.stopReason(0));

    List<TokenEvent> firstThree;
    try (Stream<TokenEvent> stream = context.stream(new int[][] {PROMPTS[1]}, greedy(16))) {
      firstThree = stream.limit(3).collect(Collectors.toList());
    }
    assertEquals(3, firstThree.size());
    Generation full = context.generate(new int[][] {PROMPTS[1]}, greedy(16));
    assertEquals(16, full.ids(0).length);
    assertEquals(full.ids(0)[2], firstThree.get(2).tokenId());
    assertArrayEquals(java.util.Arrays.copyOf(full.ids(0), 2), early.ids(0));

    // A later call ends an open iterator's generation: it says so instead of reading another's events.
    TokenIterator stale = context.iterator(new int[][] {PROMPTS[1]}, greedy(16));
    context.generate(new int[][] {PROMPTS[0]}, greedy(2));
    assertThrows(ConcurrentModificationException.class, stale::hasNext);
    stale.close();
  }

  @Test
  public void stopIdsAndStopStringsEndARowWhereTheyFirstOccur() {
    List<TokenEvent> events = streamed(new int[][] {PROMPTS[0]}, greedy(24));
    int[] ids = events.stream().mapToInt(TokenEvent::tokenId).toArray();
    int stopId = ids[5];
    int first = 0;
    while (ids[first] != stopId) {
      ++first;
    }
    Generation byId = context.generate(new int[][] {PROMPTS[0]}, greedy(24).stopIds(stopId));
    assertArrayEquals(java.util.Arrays.copyOf(ids, first + 1), byId.ids(0));
    assertEquals(StopReason.EOS, byId.stopReason(0));

    // The stop string: the last character of the first non-empty piece after the third token.
    int k = 3;
    while (events.get(k).text().isEmpty()) {
      ++k;
    }
    String piece = events.get(k).text();
    String stop = piece.substring(piece.offsetByCodePoints(piece.length(), -1));
    StringBuilder text = new StringBuilder();
    int end = 0;
    while (!text.append(events.get(end).text()).toString().contains(stop)) {
      ++end;
    }
    Generation byString = context.generate(new int[][] {PROMPTS[0]}, greedy(24).stopStrings(stop));
    assertArrayEquals("stop string \"" + stop + "\"", java.util.Arrays.copyOf(ids, end + 1), byString.ids(0));
    assertEquals(StopReason.STRING, byString.stopReason(0));
    // Any number of stop strings cross: the one that matters comes last of 70.
    String[] many = new String[70];
    for (int i = 0; i < 69; ++i) {
      many[i] = "never generated " + i;
    }
    many[69] = stop;
    assertArrayEquals(byString.ids(0), context.generate(new int[][] {PROMPTS[0]}, greedy(24).stopStrings(many)).ids(0));
    assertArrayEquals(new int[] {2}, model.eosIds()); // config.json's eos_token_id
  }

  private static double[] logSoftmax(float[] logits, int row, int vocab) {
    double max = Double.NEGATIVE_INFINITY;
    for (int v = 0; v < vocab; ++v) {
      max = Math.max(max, logits[row * vocab + v]);
    }
    double sum = 0;
    for (int v = 0; v < vocab; ++v) {
      sum += Math.exp(logits[row * vocab + v] - max);
    }
    double[] out = new double[vocab];
    for (int v = 0; v < vocab; ++v) {
      out[v] = logits[row * vocab + v] - max - Math.log(sum);
    }
    return out;
  }

  @Test
  public void scoresAreTheLogSoftmaxOfPrefillAndDecode() {
    int vocab = (int) model.info().vocabSize();
    int[][] continuations = {{7}, {200}, {3, 90}};
    float[] scores = context.score(PROMPTS, continuations);
    float[] logits = context.prefill(PROMPTS);
    for (int row = 0; row < 2; ++row) {
      double expected = logSoftmax(logits, row, vocab)[continuations[row][0]];
      assertTrue(Float.isFinite(scores[row]) && scores[row] < 0);
      assertEquals("row " + row, expected, scores[row], 1e-4);
    }
    // Two tokens: the second is scored after the first, which decode appends.
    float[] alone = context.prefill(new int[][] {PROMPTS[2]});
    double expected = logSoftmax(alone, 0, vocab)[3];
    expected += logSoftmax(context.decode(new int[] {3}), 0, vocab)[90];
    assertEquals(expected, scores[2], 1e-4);
    // Text: the prompt with the tokenizer's default special tokens (none for gpt2), the continuation after it.
    assertArrayEquals(context.score(new int[][] {{48, 89}}, new int[][] {{0}}),
        context.score(new String[] {"Qz"}, new String[] {"!"}), 0f);
  }

  @Test
  public void textPromptsAreEncodedByTheModelsTokenizer() {
    assertArrayEquals(context.generate(new int[][] {PROMPTS[0]}, greedy(8)).ids(0),
        context.generate(new String[] {"Qz!Zq"}, greedy(8)).ids(0));
    try (Stream<TokenEvent> events = context.stream("Qz!Zq", greedy(8))) {
      assertEquals(8, events.count());
    }
  }

  @Test
  public void logitsProcessorsFollowTheirDefinitions() {
    float[] logits = {2f, -2f, 1f, 0.5f};
    LogitsProcessor.process(new GenerateOptions().repetitionPenalty(2f), new int[] {0, 1}, logits);
    assertArrayEquals(new float[] {1f, -4f, 1f, 0.5f}, logits, 0f); // positive / 2, negative * 2
    float[] sampled = {2f, -2f, 1f, 0.5f};
    LogitsProcessor.process(new GenerateOptions().doSample(true).topK(2).temperature(0.5f), null, sampled);
    float inf = Float.NEGATIVE_INFINITY;
    assertArrayEquals(new float[] {4f, inf, 2f, inf}, sampled, 0f);
    assertThrows(SoftPromptException.class,
        () -> LogitsProcessor.process(new GenerateOptions(), new int[] {4}, logits));
  }

  @Test
  public void aPromptTuningAdapterChangesTheTokens() {
    try (Adapter adapter = Adapter.create(model, new AdapterOptions().numVirtualTokens(8).seed(3));
         Context tuned = Context.create(model, adapter)) {
      int[] base = context.generate(new int[][] {PROMPTS[0]}, greedy(16)).ids(0);
      int[] withAdapter = tuned.generate(new int[][] {PROMPTS[0]}, greedy(16)).ids(0);
      assertFalse(java.util.Arrays.equals(base, withAdapter));
      assertEquals(tuned.adapter(), adapter);
    }
  }

  private static void assertStatus(Status status, org.junit.function.ThrowingRunnable call) {
    assertEquals(status, assertThrows(SoftPromptException.class, call).status());
  }

  @Test
  public void errorsAreThrownWithTheLibrarysStatus() {
    assertStatus(Status.INVALID_ARGUMENT, () -> context.generate(new int[][] {{}}, greedy(4)));
    assertStatus(Status.INVALID_ARGUMENT, () -> context.generate(new int[][] {}, greedy(4)));
    assertStatus(Status.OUT_OF_RANGE, () -> context.generate(new int[][] {{5, 256}}, greedy(4)));
    assertStatus(Status.OUT_OF_RANGE, () -> context.generate(new int[][] {{5, -1}}, greedy(4)));
    assertStatus(Status.OUT_OF_RANGE, () -> context.generate(new int[][] {{5}}, greedy(96)));
    assertStatus(Status.OUT_OF_RANGE, () -> context.generate(new int[][] {{1}, {2}, {3}, {4}, {5}}, greedy(4)));
    assertStatus(Status.INVALID_ARGUMENT, () -> context.generate(new int[][] {{5}}, greedy(0)));
    assertStatus(Status.OUT_OF_RANGE, () -> context.score(new int[][] {{5}}, new int[][] {{300}}));
    assertStatus(Status.SHAPE_MISMATCH, () -> context.score(new int[][] {{5}, {6}}, new int[][] {{7}}));
    assertStatus(Status.SHAPE_MISMATCH, () -> context.generate(new int[][] {{5}, {6}}, new int[] {0}, greedy(4), null));
    assertStatus(Status.OUT_OF_RANGE, () -> context.prefill(new int[][] {{5, 256}}));
    context.reset();
    assertStatus(Status.INVALID_ARGUMENT, () -> context.decode(new int[] {5}));
    assertThrows(IllegalArgumentException.class, () -> greedy(4).stopStrings("a\0b"));
    assertThrows(NullPointerException.class, () -> context.generate((int[][]) null, greedy(4)));

    Context closed = Context.create(model, null, new ContextOptions().maxLength(16));
    TokenIterator open = closed.iterator(new int[][] {{5}}, greedy(4));
    closed.close();
    closed.close();
    assertTrue(closed.isClosed());
    assertThrows(IllegalStateException.class, () -> closed.generate(new int[][] {{5}}, greedy(4)));
    assertThrows(IllegalStateException.class, () -> closed.score(new int[][] {{5}}, new int[][] {{6}}));
    assertThrows(IllegalStateException.class, () -> closed.generate(new String[] {"a"}, greedy(4)));
    assertThrows(IllegalStateException.class, open::hasNext);
    open.close(); // never throws
  }

  @Test
  public void aContextOutlivesItsModelAndAdapterObjects() {
    Model own = Model.open(TestSupport.generationModelFolder());
    Adapter adapter = Adapter.create(own, new AdapterOptions().numVirtualTokens(4).seed(9));
    try (Context tuned = Context.create(own, adapter)) {
      int[] before = tuned.generate(new int[][] {PROMPTS[2]}, greedy(8)).ids(0);
      adapter.close();
      own.close();
      assertArrayEquals(before, tuned.generate(new int[][] {PROMPTS[2]}, greedy(8)).ids(0));
      assertEquals(8, tuned.generate(new String[] {"$"}, greedy(8)).ids(0).length);
    }
    assertNotEquals(0, model.eosIds().length);
  }
}
