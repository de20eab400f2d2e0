// Lifetime: use after Dispose is an ObjectDisposedException (never a crash), Dispose is
// idempotent, and objects keep what they depend on alive whatever the order of Dispose calls.
using System;
using System.Threading;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    [TestFixture]
    public class DisposeTests
    {
        [Test]
        public void DisposedModelThrowsObjectDisposed()
        {
            Model model = Model.Open(TestData.LlamaFolder);
            model.Dispose();
            Assert.IsTrue(model.IsDisposed);
            Assert.Throws<ObjectDisposedException>(() => { var unused = model.Info; });
            Assert.Throws<ObjectDisposedException>(() => model.Logits(TestData.ReferenceBatch()));
            Assert.Throws<ObjectDisposedException>(() => model.EvalLoss(TestData.ReferenceBatch()));
            Assert.Throws<ObjectDisposedException>(() => Adapter.Create(model));
            Assert.Throws<ObjectDisposedException>(() => Adapter.Load(model, "anything"));
            model.Dispose(); // a second Dispose does nothing
        }

        [Test]
        public void DisposedAdapterThrowsObjectDisposed()
        {
            using (Model model = Model.Open(TestData.LlamaFolder))
            {
                Adapter adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 4 });
                adapter.Dispose();
                Assert.IsTrue(adapter.IsDisposed);
                Assert.Throws<ObjectDisposedException>(() => { var unused = adapter.Info; });
                Assert.Throws<ObjectDisposedException>(() => { var unused = adapter.ParameterNames; });
                Assert.Throws<ObjectDisposedException>(() => adapter.Parameter("embedding.weight"));
                Assert.Throws<ObjectDisposedException>(() => adapter.ParameterShape("embedding.weight"));
                Assert.Throws<ObjectDisposedException>(() => adapter.Logits(TestData.ReferenceBatch()));
                Assert.Throws<ObjectDisposedException>(() => adapter.EvalLoss(TestData.ReferenceBatch()));
                Assert.Throws<ObjectDisposedException>(() => adapter.Save(TestData.NewScratchFolder("disposed")));
                Assert.Throws<ObjectDisposedException>(() => Trainer.Create(adapter));
                adapter.Dispose();
                Assert.AreEqual(256, model.Info.VocabSize, "the model is unaffected");
            }
        }

        [Test]
        public void DisposedTrainerThrowsObjectDisposed()
        {
            using (Model model = Model.Open(TestData.LlamaFolder))
            using (Adapter adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 4 }))
            {
                Trainer trainer = Trainer.Create(adapter);
                trainer.Step(TestData.TrainingBatch());
                trainer.Dispose();
                Assert.IsTrue(trainer.IsDisposed);
                Assert.Throws<ObjectDisposedException>(() => trainer.Step(TestData.TrainingBatch()));
                Assert.Throws<ObjectDisposedException>(() => trainer.Gradient("embedding.weight"));
                trainer.Dispose();
                adapter.Logits(TestData.ReferenceBatch()); // the adapter is unaffected
            }
        }

        [Test]
        public void AdapterOutlivesItsDisposedModel()
        {
            Model model = Model.Open(TestData.LlamaFolder);
            Batch batch = TestData.ReferenceBatch();
            using (Adapter adapter = Adapter.Create(model, TestData.ReferenceAdapterOptions()))
            {
                float[] before = adapter.Logits(batch, LogitsMode.All);
                model.Dispose(); // drops the caller's reference only; the native adapter holds its own
                GC.Collect();
                GC.WaitForPendingFinalizers();
                Floats.AssertEqual(before, adapter.Logits(batch, LogitsMode.All), "logits after the model's Dispose");
            }
        }

        [Test]
        public void TrainerOutlivesItsDisposedAdapterAndModel()
        {
            Model model = Model.Open(TestData.LlamaFolder);
            Adapter adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 4 });
            using (Trainer trainer = Trainer.Create(adapter))
            {
                adapter.Dispose();
                model.Dispose();
                GC.Collect();
                GC.WaitForPendingFinalizers();
                TrainResult result = trainer.Step(TestData.TrainingBatch());
                Assert.AreEqual(1, result.UpdatesDone);
                Assert.AreEqual(4 * 64, trainer.Gradient("embedding.weight").Length);
            }
        }

        [Test]
        public void DisposeWhileAnotherThreadCallsIsSafe()
        {
            // The call in flight keeps the handle (SafeHandle reference count), so the native
            // adapter is freed only after it returns; the next call sees a disposed adapter.
            using (Model model = Model.Open(TestData.LlamaFolder))
            {
                Adapter adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 4 });
                Batch batch = TestData.TrainingBatch();
                int calls = 0;
                Exception ended = null;
                var started = new ManualResetEvent(false);
                var worker = new Thread(() =>
                {
                    try
                    {
                        for (;;)
                        {
                            adapter.Logits(batch, LogitsMode.All);
                            ++calls;
                            started.Set();
                        }
                    }
                    catch (Exception e)
                    {
                        ended = e;
                        started.Set();
                    }
                });
                worker.Start();
                Assert.IsTrue(started.WaitOne(60000), "the worker made no call");
                adapter.Dispose();
                Assert.IsTrue(worker.Join(60000), "the worker did not stop");
                Assert.IsInstanceOf<ObjectDisposedException>(ended, "how the worker's loop ended");
                Assert.Greater(calls, 0);
            }
        }

        [Test]
        public void UndisposedObjectsAreReleasedByTheirFinalizers()
        {
            // Nothing to assert but survival: the finalizers free in GC order (trainer, adapter and
            // model in any order), which the C side's reference counts make safe.
            for (int i = 0; i < 20; ++i)
                CreateAndDrop();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            using (Model model = Model.Open(TestData.LlamaFolder))
                Assert.AreEqual(256, model.Info.VocabSize);
        }

        private static void CreateAndDrop()
        {
            Model model = Model.Open(TestData.LlamaFolder);
            Adapter adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 2 });
            Trainer.Create(adapter).Step(TestData.TrainingBatch());
        }
    }
}
