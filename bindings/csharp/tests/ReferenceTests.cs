// The binding returns exactly what the C API returns: the `binding_reference` fixture wrote the
// C results for a fixed input (tests/c/write_binding_reference.c); the same input through C#
// must give the same floats. Tolerance 0: both run the same native code on the same process
// kind, so any difference is a marshalling bug (wrong array, row order, mask, length).
using System.IO;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    [TestFixture]
    public class ReferenceTests
    {
        private Model model;
        private Adapter adapter;

        [TestFixtureSetUp]
        public void CreateReferenceAdapter()
        {
            model = Model.Open(TestData.LlamaFolder);
            adapter = Adapter.Create(model, TestData.ReferenceAdapterOptions());
        }

        [TestFixtureTearDown]
        public void Release()
        {
            adapter.Dispose();
            model.Dispose();
        }

        private static float[] Reference(string file)
        {
            return TestData.ReadFloats(Path.Combine(TestData.ReferenceFolder, file));
        }

        [Test]
        public void AllLogitsEqualTheCApi()
        {
            Floats.AssertEqual(Reference("logits_all.f32"), adapter.Logits(TestData.ReferenceBatch(), LogitsMode.All), "logits_all");
        }

        [Test]
        public void LastLogitsEqualTheCApi()
        {
            Floats.AssertEqual(Reference("logits_last.f32"), adapter.Logits(TestData.ReferenceBatch(), LogitsMode.Last), "logits_last");
        }

        [Test]
        public void LastLogitsIntoACallerBufferEqualTheCApi()
        {
            // Sized by LogitsCount, the library's count (2 rows, 6 positions, 256 tokens); one float
            // less is BufferTooSmall, and a batch without rows has no count.
            Assert.AreEqual(2 * 256, adapter.LogitsCount(TestData.ReferenceBatch(), LogitsMode.Last));
            Assert.AreEqual(2 * 6 * 256, adapter.LogitsCount(TestData.ReferenceBatch(), LogitsMode.All));
            Assert.AreEqual(2 * 6 * 256, model.LogitsCount(TestData.ReferenceBatch(), LogitsMode.All));
            var output = new float[adapter.LogitsCount(TestData.ReferenceBatch(), LogitsMode.Last)];
            adapter.Logits(TestData.ReferenceBatch(), LogitsMode.Last, output);
            Floats.AssertEqual(Reference("logits_last.f32"), output, "logits_last into a buffer");
            var tooShort = new float[model.LogitsCount(TestData.ReferenceBatch(), LogitsMode.All) - 1];
            var error = Assert.Throws<SoftPromptException>(
                () => model.Logits(TestData.ReferenceBatch(), LogitsMode.All, tooShort));
            Assert.AreEqual(Status.BufferTooSmall, error.Status);
            error = Assert.Throws<SoftPromptException>(() => adapter.LogitsCount(new Batch(0, 6, new int[6])));
            Assert.AreEqual(Status.InvalidArgument, error.Status);
            StringAssert.Contains("batch_size", error.NativeMessage);
        }

        [Test]
        public void LossAndRowLogLikelihoodsEqualTheCApi()
        {
            Evaluation result = adapter.EvalLoss(TestData.ReferenceBatch());
            Floats.AssertEqual(Reference("loss.f32"), new[] { result.MeanLoss }, "loss");
            Floats.AssertEqual(Reference("rows.f32"), result.RowLogLikelihoods, "rows");
        }

        [Test]
        public void TheMaskMatters()
        {
            // Guards the comparison above against an input that ignores the mask: without it, row
            // 1's last logits are those of position 5 instead of 3.
            Batch reference = TestData.ReferenceBatch();
            var unmasked = new Batch(2, 6, reference.InputIds);
            Assert.Greater(Floats.MaxAbsDiff(Reference("logits_last.f32"), adapter.Logits(unmasked, LogitsMode.Last)), 1e-3);
        }
    }
}
