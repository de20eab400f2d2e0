package dev.softprompt.tests;

import dev.softprompt.Model;
import org.junit.AfterClass;
import org.junit.BeforeClass;

/**
 * Base of the test classes that share one tiny llama model among their tests (loading it once per
 * class). JUnit runs these before a subclass's own @BeforeClass and after its @AfterClass, so a
 * subclass may build adapters on {@link #model} there. Subclasses must not reuse the method names.
 */
abstract class SharedModelTest {
  static Model model;

  @BeforeClass
  public static void openSharedModel() {
    model = TestSupport.openModel();
  }

  @AfterClass
  public static void closeSharedModel() {
    model.close();
  }
}
