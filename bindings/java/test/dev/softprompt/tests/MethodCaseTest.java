package dev.softprompt.tests;

import dev.softprompt.tests.TestSupport.MethodCase;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameter;
import org.junit.runners.Parameterized.Parameters;

/**
 * Base of the test classes whose every test runs once per {@link MethodCase} (each method and
 * variant), on the shared model. {@code @RunWith} is inherited, so subclasses are parameterized too;
 * JUnit names each run after its case, e.g. {@code roundTrip[P_TUNING_LSTM]}.
 */
@RunWith(Parameterized.class)
public abstract class MethodCaseTest extends SharedModelTest {
  @Parameters(name = "{0}")
  public static Object[] cases() {
    return MethodCase.values();
  }

  /** The case of this run. */
  @Parameter
  public MethodCase method;
}
