package dev.softprompt.tests;

import org.junit.runner.Description;
import org.junit.runner.JUnitCore;
import org.junit.runner.Result;
import org.junit.runner.notification.Failure;
import org.junit.runner.notification.RunListener;
import org.junit.internal.TextListener;

/**
 * Runs the Java suite with JUnit 4 and ends with one plain line that scripts can read,
 * "junit: N passed, M failed, K skipped"; exits 1 if anything failed.
 */
public final class RunTests {
  private static final Class<?>[] SUITE = {
    LibraryTest.class,
    AdapterOptionsTest.class,
    ReferenceTest.class,
    MethodsTest.class,
    ParameterShapeTest.class,
    SaveLoadTest.class,
    ErrorsTest.class,
    LifecycleTest.class,
    ThreadsTest.class,
    Utf8PathTest.class,
    TokenizerTest.class,
    GenerationTest.class,
    MemoryTest.class,
    TrainerStateTest.class,
    ChatTemplateTest.class,
    GgufTest.class,
    EncoderTaskTest.class,
    Seq2SeqTest.class,
    MixedAdaptersTest.class,
  };

  private RunTests() {}

  public static void main(String[] args) {
    JUnitCore core = new JUnitCore();
    core.addListener(new TextListener(System.out));
    core.addListener(new RunListener() {
      private long started;

      @Override
      public void testStarted(Description description) {
        started = System.nanoTime();
      }

      @Override
      public void testFinished(Description description) {
        System.out.printf("  %s.%s (%.2f s)%n", description.getClassName().replaceAll(".*\\.", ""),
            description.getMethodName(), (System.nanoTime() - started) / 1e9);
      }

      @Override
      public void testFailure(Failure failure) {
        System.out.println("    FAILED: " + failure.getMessage());
      }
    });
    Result result = core.run(SUITE);
    int failed = result.getFailureCount();
    int skipped = result.getIgnoreCount() + result.getAssumptionFailureCount();
    int passed = result.getRunCount() - failed - result.getAssumptionFailureCount();
    System.out.println("junit: " + passed + " passed, " + failed + " failed, " + skipped + " skipped");
    System.exit(failed == 0 ? 0 : 1);
  }
}
