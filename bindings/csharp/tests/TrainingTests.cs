// Every method trains through C#: the loss falls, the result fields and gradients come back.
using System;
using System.Linq;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    [TestFixture]
    public class TrainingTests : SharedModelFixture
    {
        // The settings and learning rates of tests/c/test_training.c, where 200 steps halve the loss.
        [TestCase("prompt tuning", Method.PromptTuning, false, EncoderType.Mlp, 1, 0.1)]
        [TestCase("prefix tuning", Method.PrefixTuning, false, EncoderType.Mlp, 1, 0.05)]
        [TestCase("prefix tuning + projection", Method.PrefixTuning, true, EncoderType.Mlp, 1, 3e-3)]
        [TestCase("P-tuning (MLP)", Method.PTuning, false, EncoderType.Mlp, 1, 3e-3)]
        [TestCase("P-tuning (LSTM)", Method.PTuning, false, EncoderType.Lstm, 1, 3e-3)]
        [TestCase("multitask prompt tuning", Method.MultitaskPromptTuning, false, EncoderType.Mlp, 2, 0.1)]
        public void TwoHundredStepsHalveTheLoss(string label, Method method, bool projection, EncoderType encoder,
                                                int tasks, double learningRate)
        {
            const int steps = 200;
            var options = new AdapterOptions
            {
                Method = method, NumVirtualTokens = 8, Seed = 1, PrefixProjection = projection, EncoderType = encoder,
                NumTasks = tasks, Init = method == Method.PromptTuning ? PromptInit.SampleVocab : PromptInit.Random
            };
            Batch batch = TestData.TrainingBatch(); // task ids 0, 1, 0, 1: MPT trains both tasks
            using (Adapter adapter = Adapter.Create(model, options))
            using (Trainer trainer = Trainer.Create(adapter, new TrainerOptions { LearningRate = learningRate }))
            {
                float start = adapter.EvalLoss(batch).MeanLoss;
                TrainResult last = null;
                for (int step = 0; step < steps; ++step)
                    last = trainer.Step(batch);
                float end = adapter.EvalLoss(batch).MeanLoss;
                Console.WriteLine("    {0,-28} loss {1:F4} -> {2:F4} after {3} steps at lr {4}", label, start, end, steps,
                                  learningRate);
                Assert.AreEqual(steps, last.UpdatesDone);
                Assert.IsTrue(last.Updated);
                Assert.Less(end, 0.5f * start, label + ": the loss did not fall below half its start");
            }
        }

        [Test]
        public void StepReportsTheUpdateAndTheGradientMatchesTheTensor()
        {
            Batch batch = TestData.TrainingBatch();
            using (Adapter adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 4, Seed = 2 }))
            using (Trainer trainer = Trainer.Create(adapter, new TrainerOptions { LearningRate = 0.01, MaxGradNorm = 1.0 }))
            {
                float start = adapter.EvalLoss(batch).MeanLoss;
                float[] before = adapter.Parameter("embedding.weight");
                TrainResult result = trainer.Step(batch);
                Assert.IsTrue(result.Updated);
                Assert.AreEqual(1, result.UpdatesDone);
                Assert.AreEqual(start, result.Loss, 1e-5, "the step's loss is the loss before the update");
                Assert.AreEqual(0.01f, result.LearningRate, 1e-7);
                Assert.Greater(result.GradNorm, 0f);

                float[] gradient = trainer.Gradient("embedding.weight");
                Assert.AreEqual(before.Length, gradient.Length);
                double norm = Math.Sqrt(gradient.Sum(g => (double)g * g));
                Assert.AreEqual(result.GradNorm, norm, 1e-3 * norm, "the only tensor's norm is the total norm");
                Assert.Greater(Floats.MaxAbsDiff(before, adapter.Parameter("embedding.weight")), 0.0, "the update changed the table");
            }
        }

        [Test]
        public void AccumulationUpdatesEverySecondStep()
        {
            Batch batch = TestData.TrainingBatch();
            using (Adapter adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 4 }))
            using (Trainer trainer = Trainer.Create(adapter, new TrainerOptions { AccumulationSteps = 2 }))
            {
                TrainResult first = trainer.Step(batch);
                Assert.IsFalse(first.Updated);
                Assert.AreEqual(0, first.UpdatesDone);
                TrainResult second = trainer.Step(batch);
                Assert.IsTrue(second.Updated);
                Assert.AreEqual(1, second.UpdatesDone);
            }
        }

        [Test]
        public void GradientBeforeTheFirstUpdateIsNotFound()
        {
            using (Adapter adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 4 }))
            using (Trainer trainer = Trainer.Create(adapter))
            {
                var error = Assert.Throws<SoftPromptException>(() => trainer.Gradient("embedding.weight"));
                Assert.AreEqual(Status.NotFound, error.Status);
            }
        }
    }
}
