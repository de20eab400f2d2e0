package dev.softprompt.tests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.softprompt.Adapter;
import dev.softprompt.Batch;
import dev.softprompt.LogitsMode;
import dev.softprompt.Trainer;
import dev.softprompt.TrainerOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.Test;

/**
 * A trained adapter of each method, saved in PEFT's folder layout and as a single file, loads back
 * with the same logits (bit for bit: the saved values are the float32 values in use).
 */
public class SaveLoadTest extends MethodCaseTest {
  @Test
  public void roundTrip() throws Exception {
    Path scratch = TestSupport.scratch("save_load_" + method.name().toLowerCase());
    String folder = scratch.resolve("peft").toString();
    String file = scratch.resolve("adapter.spadapter").toString();
    Batch batch = TestSupport.taskBatch();
    float[] initial;
    float[] trained;
    try (Adapter adapter = Adapter.create(model, method.options());
        Trainer trainer = Trainer.create(adapter, new TrainerOptions().learningRate(method.learningRate))) {
      initial = adapter.logits(batch, LogitsMode.ALL);
      for (int step = 0; step < 5; ++step) {
        trainer.step(batch);
      }
      trained = adapter.logits(batch, LogitsMode.ALL);
      adapter.save(folder);
      adapter.saveFile(file);
    }
    // Saving something that did not change would make the comparison below prove nothing.
    assertFalse("training changed nothing", Arrays.equals(initial, trained));
    assertTrue(Files.isRegularFile(scratch.resolve("peft").resolve("adapter_config.json")));
    assertTrue(Files.isRegularFile(scratch.resolve("peft").resolve("adapter_model.safetensors")));
    assertTrue(Files.isRegularFile(scratch.resolve("adapter.spadapter")));

    try (Adapter fromFolder = Adapter.load(model, folder); Adapter fromFile = Adapter.loadFile(model, file)) {
      assertEquals(method.options().method(), fromFolder.info().method());
      assertEquals(method.options().method(), fromFile.info().method());
      ReferenceTest.assertBitsEqual(trained, fromFolder.logits(batch, LogitsMode.ALL));
      ReferenceTest.assertBitsEqual(trained, fromFile.logits(batch, LogitsMode.ALL));
    }
  }
}
