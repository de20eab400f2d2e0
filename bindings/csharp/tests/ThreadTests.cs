// Two threads, each training its own adapter on one shared model, get exactly what the same
// training gives on one thread: no crash, no mixed-up state, no mixed-up error messages.
using System;
using System.Threading;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    [TestFixture]
    public class ThreadTests
    {
        private const int Steps = 40;

        /// <summary>Trains a seed-specific adapter; returns the final prompt table. Also checks that an error on this thread reports this thread's message.</summary>
        private static float[] Train(Model model, ulong seed, out float start, out float end)
        {
            Batch batch = TestData.TrainingBatch();
            using (Adapter adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 8, Seed = seed, Init = PromptInit.SampleVocab }))
            using (Trainer trainer = Trainer.Create(adapter, new TrainerOptions { LearningRate = 0.1 }))
            {
                start = adapter.EvalLoss(batch).MeanLoss;
                for (int step = 0; step < Steps; ++step)
                {
                    trainer.Step(batch);
                    if (step % 10 == 0)
                    {
                        // A per-thread error in the middle: the message must name this thread's tensor.
                        string name = "missing_" + seed;
                        var error = Assert.Throws<SoftPromptException>(() => adapter.Parameter(name));
                        StringAssert.Contains(name, error.NativeMessage);
                    }
                }
                end = adapter.EvalLoss(batch).MeanLoss;
                return adapter.Parameter("embedding.weight");
            }
        }

        [Test]
        public void TwoThreadsTrainTheirOwnAdaptersOnOneModel()
        {
            using (Model model = Model.Open(TestData.LlamaFolder))
            {
                var tables = new float[2][];
                var starts = new float[2];
                var ends = new float[2];
                var failures = new Exception[2];
                var threads = new Thread[2];
                for (int t = 0; t < 2; ++t)
                {
                    int index = t;
                    threads[t] = new Thread(() =>
                    {
                        try
                        {
                            tables[index] = Train(model, (ulong)(index + 1), out starts[index], out ends[index]);
                        }
                        catch (Exception e)
                        {
                            failures[index] = e;
                        }
                    });
                    threads[t].Start();
                }
                foreach (Thread thread in threads)
                    thread.Join();
                for (int t = 0; t < 2; ++t)
                {
                    if (failures[t] != null)
                        Assert.Fail("thread {0} failed: {1}", t, failures[t]);
                    Console.WriteLine("    thread {0}: loss {1:F4} -> {2:F4}", t, starts[t], ends[t]);
                    Assert.Less(ends[t], starts[t], "thread " + t + ": the loss fell");
                }

                // The same two trainings one after the other, on this thread.
                for (int t = 0; t < 2; ++t)
                {
                    float start, end;
                    float[] alone = Train(model, (ulong)(t + 1), out start, out end);
                    Floats.AssertEqual(alone, tables[t], "thread " + t + " vs the same training alone");
                }
            }
        }
    }
}
