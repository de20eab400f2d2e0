package dev.softprompt.tests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.softprompt.Adapter;
import dev.softprompt.AdapterInfo;
import dev.softprompt.Batch;
import dev.softprompt.Method;
import dev.softprompt.TrainResult;
import dev.softprompt.Trainer;
import dev.softprompt.TrainerOptions;
import java.util.List;
import org.junit.Test;

/** Every method can be created, described, and trained through Java, with the loss falling. */
public class MethodsTest extends MethodCaseTest {
  /** Steps per method: enough for every method to cut the loss by a quarter on this task. */
  private static final int STEPS = 60;
  private static final float MAX_LOSS_RATIO = 0.75f;

  /** For multitask prompt tuning the task ids travel with each batch (rows alternate between tasks 0 and 1). */
  @Test
  public void createDescribeAndTrain() {
    Method expected = method.options().method();
    Batch batch = TestSupport.taskBatch();
    try (Adapter adapter = Adapter.create(model, method.options());
        Trainer trainer = Trainer.create(adapter, new TrainerOptions().learningRate(method.learningRate))) {
      AdapterInfo info = adapter.info();
      assertEquals(expected, info.method());
      assertEquals(8, info.numVirtualTokens());
      assertEquals(expected == Method.MULTITASK_PROMPT_TUNING ? 2 : 0, info.numTasks());
      List<String> names = adapter.parameterNames();
      assertEquals(info.numParameterTensors(), names.size());
      long total = 0;
      for (String name : names) {
        total += adapter.parameter(name).length;
      }
      assertEquals(info.numTrainableParameters(), total);

      float start = adapter.evalLoss(batch).meanLoss();
      TrainResult result = null;
      for (int step = 1; step <= STEPS; ++step) {
        result = trainer.step(batch);
        assertTrue(result.updated());
        assertEquals(step, result.updatesDone());
      }
      float end = adapter.evalLoss(batch).meanLoss();
      System.out.printf("    %-26s loss %.4f -> %.4f after %d steps%n", method, start, end, STEPS);
      assertTrue(method + ": loss " + start + " -> " + end, end < MAX_LOSS_RATIO * start);

      // The latest update's gradient is there for every trainable tensor, at its size.
      for (String name : names) {
        float[] gradient = trainer.gradient(name);
        assertEquals(adapter.parameterSize(name), gradient.length);
        assertFalse(name + " has an all-zero gradient", allZero(gradient));
      }
    }
  }

  private static boolean allZero(float[] values) {
    for (float value : values) {
      if (value != 0f) {
        return false;
      }
    }
    return true;
  }
}
