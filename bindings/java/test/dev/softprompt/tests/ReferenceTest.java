package dev.softprompt.tests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.softprompt.Adapter;
import dev.softprompt.AdapterOptions;
import dev.softprompt.Batch;
import dev.softprompt.Evaluation;
import dev.softprompt.LogitsMode;
import dev.softprompt.SoftPromptException;
import dev.softprompt.Status;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Through Java, the same input gives what the C API gave (tests/c/write_binding_reference.c wrote
 * it): bit for bit, tolerance 0. Both run the same native code on the same CPU, so any difference
 * would be the binding's (a wrong array, count, mask or mode on the way).
 */
public class ReferenceTest extends SharedModelTest {
  private static final int VOCAB = 256;
  private static Adapter adapter;

  /** The reference input: ids 3..14 as 2 rows of 6, the last two tokens of row 1 masked. */
  private static Batch referenceBatch() {
    int[] ids = new int[12];
    int[] mask = new int[12];
    for (int i = 0; i < 12; ++i) {
      ids[i] = 3 + i;
      mask[i] = i < 10 ? 1 : 0;
    }
    return Batch.builder(2, 6).inputIds(ids).attentionMask(mask).build();
  }

  @BeforeClass
  public static void createAdapter() {
    adapter = Adapter.create(model, new AdapterOptions().numVirtualTokens(4).seed(5));
  }

  @AfterClass
  public static void closeAdapter() {
    adapter.close();
  }

  @Test
  public void allLogitsEqualTheCApi() throws IOException {
    float[] logits = adapter.logits(referenceBatch(), LogitsMode.ALL);
    assertEquals(2 * 6 * VOCAB, logits.length);
    assertBitsEqual(reference("logits_all.f32"), logits);
  }

  @Test
  public void lastLogitsEqualTheCApi() throws IOException {
    float[] logits = adapter.logits(referenceBatch(), LogitsMode.LAST);
    assertEquals(2 * VOCAB, logits.length);
    assertBitsEqual(reference("logits_last.f32"), logits);
  }

  @Test
  public void lossAndRowLogLikelihoodsEqualTheCApi() throws IOException {
    Evaluation evaluation = adapter.evalLoss(referenceBatch());
    assertBitsEqual(reference("loss.f32"), new float[] {evaluation.meanLoss()});
    assertBitsEqual(reference("rows.f32"), evaluation.rowLogLikelihoods());
  }

  /**
   * A caller-owned buffer, sized by logitsCount (the library's count: 2 rows, 6 positions, 256
   * tokens), is filled in place with the same values; one float less is BUFFER_TOO_SMALL.
   */
  @Test
  public void logitsIntoACallerBufferEqualTheCApi() throws IOException {
    assertEquals(2 * VOCAB, adapter.logitsCount(referenceBatch(), LogitsMode.LAST));
    assertEquals(2 * 6 * VOCAB, adapter.logitsCount(referenceBatch(), LogitsMode.ALL));
    assertEquals(2 * 6 * VOCAB, model.logitsCount(referenceBatch(), LogitsMode.ALL));
    float[] out = new float[(int) adapter.logitsCount(referenceBatch(), LogitsMode.LAST)];
    adapter.logits(referenceBatch(), LogitsMode.LAST, out);
    assertBitsEqual(reference("logits_last.f32"), out);
    float[] all = new float[(int) model.logitsCount(referenceBatch(), LogitsMode.ALL) - 1];
    SoftPromptException e =
        assertThrows(SoftPromptException.class, () -> model.logits(referenceBatch(), LogitsMode.ALL, all));
    assertEquals(Status.BUFFER_TOO_SMALL, e.status());
    Batch empty = Batch.builder(0, 6).inputIds(new int[0]).build();
    e = assertThrows(SoftPromptException.class, () -> adapter.logitsCount(empty, LogitsMode.LAST));
    assertEquals(Status.INVALID_ARGUMENT, e.status());
    assertTrue(e.getMessage(), e.getMessage().contains("batch_size"));
  }

  /**
   * LAST is each row's last unmasked position of ALL (row 0: position 5; row 1: position 3, its
   * last two tokens are padding): the mask reached the library intact. Within 1e-5, not bit for
   * bit: the library computes LAST's output projection for fewer positions, which rounds
   * differently in the last place.
   */
  @Test
  public void lastLogitsAreTheLastUnmaskedPositions() {
    float[] all = adapter.logits(referenceBatch(), LogitsMode.ALL);
    float[] last = adapter.logits(referenceBatch(), LogitsMode.LAST);
    assertArrayEquals(Arrays.copyOfRange(all, 5 * VOCAB, 6 * VOCAB), Arrays.copyOfRange(last, 0, VOCAB), 1e-5f);
    assertArrayEquals(Arrays.copyOfRange(all, (6 + 3) * VOCAB, (6 + 4) * VOCAB),
        Arrays.copyOfRange(last, VOCAB, 2 * VOCAB), 1e-5f);
    // Without the mask, row 1's LAST would be its position 5, which is far from position 3.
    float[] padded = Arrays.copyOfRange(all, (6 + 5) * VOCAB, (6 + 6) * VOCAB);
    assertTrue(maxAbsDifference(padded, Arrays.copyOfRange(last, VOCAB, 2 * VOCAB)) > 1e-2f);
  }

  private static float maxAbsDifference(float[] a, float[] b) {
    float max = 0;
    for (int i = 0; i < a.length; ++i) {
      max = Math.max(max, Math.abs(a[i] - b[i]));
    }
    return max;
  }

  /** The base model alone runs through the binding too, and differs from the prompted model. */
  @Test
  public void baseModelLogitsDifferFromTheAdapters() throws IOException {
    float[] base = model.logits(referenceBatch(), LogitsMode.LAST);
    assertEquals(2 * VOCAB, base.length);
    assertFalse(Arrays.equals(base, reference("logits_last.f32")));
    Evaluation evaluation = model.evalLoss(referenceBatch());
    assertEquals(2, evaluation.rowLogLikelihoods().length);
    assertFalse(evaluation.meanLoss() == reference("loss.f32")[0]);
  }

  private static float[] reference(String name) throws IOException {
    Path file = TestSupport.referenceFolder().resolve(name);
    return TestSupport.readFloats(file);
  }

  static void assertBitsEqual(float[] expected, float[] actual) {
    assertEquals("length", expected.length, actual.length);
    int[] expectedBits = new int[expected.length];
    int[] actualBits = new int[actual.length];
    for (int i = 0; i < expected.length; ++i) {
      expectedBits[i] = Float.floatToRawIntBits(expected[i]);
      actualBits[i] = Float.floatToRawIntBits(actual[i]);
    }
    assertArrayEquals(expectedBits, actualBits);
  }
}
