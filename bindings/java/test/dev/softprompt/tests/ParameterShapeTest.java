package dev.softprompt.tests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.softprompt.Adapter;
import dev.softprompt.AdapterOptions;
import dev.softprompt.EncoderType;
import dev.softprompt.Method;
import dev.softprompt.SoftPromptException;
import dev.softprompt.Status;
import dev.softprompt.tests.TestSupport.MethodCase;
import org.junit.Test;

/**
 * Per-tensor shapes (sp_adapter_parameter_shape) and the adapter's vocabulary size come through
 * the binding. The expected shapes follow from how PyTorch and PEFT define the tensors, not from
 * the library: an nn.LSTM's weight_ih_l0 is (4 * hidden_size, input_size) and PEFT's MPT column
 * factors are (num_tasks, num_virtual_tokens, num_ranks).
 */
public class ParameterShapeTest extends SharedModelTest {
  /** The tiny llama model's hidden size (tests/make_models.cmake). */
  private static final long HIDDEN = 64;

  /** For every tensor of every method, the shape's product is the tensor's element count. */
  @Test
  public void shapeProductIsTheParameterSize() {
    for (MethodCase method : MethodCase.values()) {
      try (Adapter adapter = Adapter.create(model, method.options())) {
        long total = 0;
        for (String name : adapter.parameterNames()) {
          long[] shape = adapter.parameterShape(name);
          assertTrue(method + " " + name + " has rank " + shape.length, shape.length >= 1);
          long product = 1;
          for (long dim : shape) {
            assertTrue(method + " " + name + " has a dimension " + dim, dim > 0);
            product *= dim;
          }
          assertEquals(method + " " + name, adapter.parameter(name).length, product);
          total += product;
        }
        assertEquals(method.toString(), adapter.info().numTrainableParameters(), total);
      }
    }
  }

  /** A bidirectional LSTM of width 24 over the 64-wide embeddings. */
  @Test
  public void lstmInputWeightsAreFourGatesByInput() {
    long encoderHidden = 24;
    try (Adapter adapter = Adapter.create(model, new AdapterOptions().method(Method.P_TUNING)
            .encoderType(EncoderType.LSTM).encoderHiddenSize((int) encoderHidden).numVirtualTokens(8))) {
      assertArrayEquals(new long[] {4 * encoderHidden, HIDDEN}, adapter.parameterShape("lstm_head.weight_ih_l0"));
      assertArrayEquals(new long[] {4 * encoderHidden, encoderHidden},
          adapter.parameterShape("lstm_head.weight_hh_l0"));
      // The second layer reads both directions of the first.
      assertArrayEquals(new long[] {4 * encoderHidden, 2 * encoderHidden},
          adapter.parameterShape("lstm_head.weight_ih_l1"));
      assertArrayEquals(new long[] {4 * encoderHidden}, adapter.parameterShape("lstm_head.bias_ih_l0"));
    }
  }

  @Test
  public void mptTaskColumnsAreTasksByTokensByRanks() {
    try (Adapter adapter = Adapter.create(model, new AdapterOptions().method(Method.MULTITASK_PROMPT_TUNING)
            .numTasks(3).numVirtualTokens(5).numRanks(2))) {
      assertArrayEquals(new long[] {3, 5, 2}, adapter.parameterShape("prefix_task_cols"));
      assertArrayEquals(new long[] {3, 2, HIDDEN}, adapter.parameterShape("prefix_task_rows"));
      assertArrayEquals(new long[] {5, HIDDEN}, adapter.parameterShape("embedding.weight"));
    }
  }

  @Test
  public void unknownNameIsNotFound() {
    try (Adapter adapter = Adapter.create(model, new AdapterOptions().numVirtualTokens(4))) {
      SoftPromptException e = assertThrows(SoftPromptException.class, () -> adapter.parameterShape("no.such.tensor"));
      assertEquals(e.getMessage(), Status.NOT_FOUND, e.status());
      assertTrue(e.nativeMessage(), e.nativeMessage().contains("no.such.tensor"));
      // The adapter is still usable afterwards.
      assertArrayEquals(new long[] {4, HIDDEN}, adapter.parameterShape("embedding.weight"));
    }
  }

  /** The adapter reports its model's vocabulary, for every method. */
  @Test
  public void vocabSizeIsTheModels() {
    long vocab = model.info().vocabSize();
    assertEquals(256, vocab); // tests/make_models.cmake
    for (MethodCase method : MethodCase.values()) {
      try (Adapter adapter = Adapter.create(model, method.options())) {
        assertEquals(method.toString(), vocab, adapter.info().vocabSize());
      }
    }
  }
}
