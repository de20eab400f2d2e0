package dev.softprompt.tests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.softprompt.Adapter;
import dev.softprompt.Batch;
import dev.softprompt.SoftPromptException;
import dev.softprompt.Status;
import dev.softprompt.TrainResult;
import dev.softprompt.Trainer;
import dev.softprompt.TrainerOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.Test;

/**
 * Trainer states through the binding, for each method: a run cut by saveState, resumed by
 * loadState in a fresh adapter (another seed) and trainer (other settings), goes on exactly as the
 * uncut run, bit for bit; the user state comes back; describe reads the state file.
 */
public class TrainerStateTest extends MethodCaseTest {
  private static final int STEPS = 6;

  private TrainerOptions runOptions() {
    return new TrainerOptions()
        .learningRate(method.learningRate)
        .warmupSteps(1)
        .totalSteps(4)
        .maxGradNorm(0.5)
        .accumulationSteps(2);
  }

  private static Batch batchOf(int step) {
    int[] ids = new int[2 * 6];
    for (int i = 0; i < ids.length; ++i) {
      ids[i] = 3 + (step * 37 + i * 11) % 250;
    }
    return Batch.builder(2, 6).inputIds(ids).taskIds(step % 2, 1 - step % 2).build();
  }

  private static float[] allParameters(Adapter adapter) {
    float[] all = new float[0];
    for (String name : adapter.parameterNames()) {
      float[] values = adapter.parameter(name);
      int start = all.length;
      all = Arrays.copyOf(all, start + values.length);
      System.arraycopy(values, 0, all, start, values.length);
    }
    return all;
  }

  private static void train(Trainer trainer, int first, int end, TrainResult[] results) {
    for (int step = first; step < end; ++step) {
      results[step] = trainer.step(batchOf(step));
    }
  }

  @Test
  public void resumesExactly() throws Exception {
    Path scratch = TestSupport.scratch("trainer_state_" + method.name().toLowerCase());
    String path = scratch.resolve("run.spstate").toString();
    TrainResult[] straight = new TrainResult[STEPS];
    TrainResult[] resumed = new TrainResult[STEPS];
    float[] expected;
    try (Adapter adapter = Adapter.create(model, method.options());
         Trainer trainer = Trainer.create(adapter, runOptions())) {
      train(trainer, 0, STEPS, straight);
      expected = allParameters(adapter);
    }
    byte[] user = "epoch 1, position 3".getBytes(StandardCharsets.UTF_8);
    try (Adapter adapter = Adapter.create(model, method.options());
         Trainer trainer = Trainer.create(adapter, runOptions())) {
      train(trainer, 0, 3, resumed); // mid-accumulation: gradients held
      trainer.saveState(path, user);
    }
    try (Adapter adapter = Adapter.create(model, method.options().seed(77));
         Trainer trainer = Trainer.create(adapter, new TrainerOptions().learningRate(1.0))) {
      float[] before = allParameters(adapter);
      assertFalse("the fresh adapter starts where the run ended", Arrays.equals(before, expected));
      assertArrayEquals(user, trainer.loadState(path));
      train(trainer, 3, STEPS, resumed);
      for (int step = 0; step < STEPS; ++step) {
        assertEquals("loss of step " + step, Float.floatToRawIntBits(straight[step].loss()),
            Float.floatToRawIntBits(resumed[step].loss()));
        assertEquals("updates after step " + step, straight[step].updatesDone(), resumed[step].updatesDone());
      }
      ReferenceTest.assertBitsEqual(expected, allParameters(adapter));
    }
    String json = Adapter.describe(path);
    assertTrue(json, json.contains("\"format\":\"trainer-state\""));
    assertTrue(json, json.contains("\"micro_steps\":3"));
    assertTrue(json, json.contains("\"user_state_size\":" + user.length));
  }

  @Test
  public void refusedStatesChangeNothing() throws Exception {
    Path scratch = TestSupport.scratch("trainer_state_refused_" + method.name().toLowerCase());
    String other = scratch.resolve("other.spstate").toString();
    try (Adapter adapter = Adapter.create(model, method.options().numVirtualTokens(3));
         Trainer trainer = Trainer.create(adapter, runOptions())) {
      trainer.saveState(other);
    }
    try (Adapter adapter = Adapter.create(model, method.options());
         Trainer trainer = Trainer.create(adapter, runOptions())) {
      train(trainer, 0, 1, new TrainResult[STEPS]);
      float[] before = allParameters(adapter);
      SoftPromptException e = assertThrows(SoftPromptException.class, () -> trainer.loadState(other));
      assertEquals(e.getMessage(), Status.SHAPE_MISMATCH, e.status());
      e = assertThrows(SoftPromptException.class, () -> trainer.loadState(scratch.resolve("none").toString()));
      assertEquals(e.getMessage(), Status.NOT_FOUND, e.status());
      ReferenceTest.assertBitsEqual(before, allParameters(adapter));
      // A user state larger than the first buffer the binding offers: loaded on the second try.
      byte[] large = new byte[10000];
      for (int i = 0; i < large.length; ++i) {
        large[i] = (byte) (i * 13);
      }
      String path = scratch.resolve("large.spstate").toString();
      trainer.saveState(path, large);
      assertArrayEquals(large, trainer.loadState(path));
      trainer.saveState(path);
      assertEquals(0, trainer.loadState(path).length);
    }
  }
}
