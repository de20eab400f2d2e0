// Every non-OK status becomes a SoftPromptException carrying the C status and message, and a
// failed call leaves the objects usable.
using System;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    [TestFixture]
    public class ErrorTests
    {
        private Model model;
        private Adapter adapter;

        [TestFixtureSetUp]
        public void Create()
        {
            model = Model.Open(TestData.LlamaFolder);
            adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 4 });
        }

        [TestFixtureTearDown]
        public void Release()
        {
            adapter.Dispose();
            model.Dispose();
        }

        private static Batch WithToken999()
        {
            return new Batch(1, 3, new[] { 5, 999, 7 });
        }

        [Test]
        public void MissingModelFolderIsNotFoundWithTheCMessage()
        {
            string missing = TestData.NewScratchFolder("errors") + "/no_such_model";
            var error = Assert.Throws<SoftPromptException>(() => Model.Open(missing));
            Assert.AreEqual(Status.NotFound, error.Status);
            StringAssert.Contains("no_such_model", error.NativeMessage, "the C message names the folder");
            Assert.AreEqual("SP_ERR_NOT_FOUND: " + error.NativeMessage, error.Message);
        }

        [Test]
        public void TokenOutsideTheVocabularyIsOutOfRange()
        {
            var error = Assert.Throws<SoftPromptException>(() => adapter.Logits(WithToken999()));
            Assert.AreEqual(Status.OutOfRange, error.Status);
            StringAssert.Contains("999", error.NativeMessage);
            StringAssert.StartsWith("SP_ERR_OUT_OF_RANGE: ", error.Message);
        }

        [Test]
        public void EveryEntryPointReportsTheBadToken()
        {
            using (Trainer trainer = Trainer.Create(adapter))
            {
                Batch bad = WithToken999();
                Assert.AreEqual(Status.OutOfRange, Assert.Throws<SoftPromptException>(() => model.Logits(bad)).Status);
                Assert.AreEqual(Status.OutOfRange, Assert.Throws<SoftPromptException>(() => model.EvalLoss(bad)).Status);
                Assert.AreEqual(Status.OutOfRange, Assert.Throws<SoftPromptException>(() => adapter.EvalLoss(bad)).Status);
                Assert.AreEqual(Status.OutOfRange, Assert.Throws<SoftPromptException>(() => trainer.Step(bad)).Status);
            }
        }

        [Test]
        public void AFailedCallChangesNothing()
        {
            Batch good = TestData.ReferenceBatch();
            float[] before = adapter.Logits(good);
            using (Trainer trainer = Trainer.Create(adapter))
            {
                Assert.Throws<SoftPromptException>(() => trainer.Step(WithToken999()));
                Floats.AssertEqual(before, adapter.Logits(good), "logits after a failed step");
                Assert.AreEqual(1, trainer.Step(good).UpdatesDone, "the failed step counted no update");
            }
        }

        [Test]
        public void MissingAdapterFolderAndFileAreNotFound()
        {
            string scratch = TestData.NewScratchFolder("errors_adapter");
            Assert.AreEqual(Status.NotFound, Assert.Throws<SoftPromptException>(() => Adapter.Load(model, scratch + "/none")).Status);
            Assert.AreEqual(Status.NotFound,
                            Assert.Throws<SoftPromptException>(() => Adapter.LoadFile(model, scratch + "/none.spadapter")).Status);
        }

        [Test]
        public void InvalidOptionsAreInvalidArgument()
        {
            var error = Assert.Throws<SoftPromptException>(() => Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 0 }));
            Assert.AreEqual(Status.InvalidArgument, error.Status);
            Assert.IsNotEmpty(error.NativeMessage);
        }

        [Test]
        public void InitTokenOutsideTheVocabularyIsOutOfRange()
        {
            var options = new AdapterOptions { NumVirtualTokens = 2, Init = PromptInit.Text, InitTokenIds = new[] { 4, 999 } };
            Assert.AreEqual(Status.OutOfRange, Assert.Throws<SoftPromptException>(() => Adapter.Create(model, options)).Status);
        }

        [Test]
        public void UnknownTensorNameIsNotFound()
        {
            var error = Assert.Throws<SoftPromptException>(() => adapter.Parameter("no.such.tensor"));
            Assert.AreEqual(Status.NotFound, error.Status);
            StringAssert.Contains("no.such.tensor", error.NativeMessage);
        }

        [Test]
        public void ShortOutputBufferIsBufferTooSmall()
        {
            var error = Assert.Throws<SoftPromptException>(
                () => adapter.Logits(TestData.ReferenceBatch(), LogitsMode.Last, new float[255]));
            Assert.AreEqual(Status.BufferTooSmall, error.Status);
        }

        [Test]
        public void WrongLengthMaskIsReportedWithTheLengthCSaw()
        {
            // The array's own length travels with it: C sees 11 mask values for 12 ids. (The C
            // library reports wrong array lengths as SP_ERR_SHAPE_MISMATCH, capi/src/batch_check.cpp.)
            var batch = new Batch(2, 6, new int[12], new int[11]);
            var error = Assert.Throws<SoftPromptException>(() => adapter.Logits(batch));
            Assert.AreEqual(Status.ShapeMismatch, error.Status);
            StringAssert.Contains("attention_mask has 11 values", error.NativeMessage);
        }

        [Test]
        public void BatchWithoutRowsOrTokensIsInvalidArgumentFromTheLibrary()
        {
            // The binding checks no batch sizes of its own: the library's status and message (which
            // names its field, batch_size or seq_len) reach the caller, whichever call sees them first.
            var noRows = new Batch(0, 3, new int[3]); // ids given: an empty array would reach C as NULL
            foreach (TestDelegate call in new TestDelegate[] {
                         () => adapter.Logits(noRows), () => model.Logits(noRows, LogitsMode.All),
                         () => adapter.EvalLoss(noRows), () => model.EvalLoss(noRows) })
            {
                var error = Assert.Throws<SoftPromptException>(call);
                Assert.AreEqual(Status.InvalidArgument, error.Status);
                StringAssert.Contains("batch_size", error.NativeMessage);
            }
            var noTokens = new Batch(2, -1, new int[0]);
            var shortRows = Assert.Throws<SoftPromptException>(() => adapter.Logits(noTokens, LogitsMode.All));
            Assert.AreEqual(Status.InvalidArgument, shortRows.Status);
            StringAssert.Contains("seq_len", shortRows.NativeMessage);
            using (Trainer trainer = Trainer.Create(adapter))
            {
                var error = Assert.Throws<SoftPromptException>(() => trainer.Step(noRows));
                Assert.AreEqual(Status.InvalidArgument, error.Status);
                StringAssert.Contains("batch_size", error.NativeMessage);
            }
        }

        [Test]
        public void WrongLengthIdsAreShapeMismatchWithoutABufferForThem()
        {
            // 5 ids for 100000 x 100000 tokens: the library reports the shape. The binding sizes no
            // buffer for such a batch (its 2.56e12 logits would not even fit in a .NET array).
            var error = Assert.Throws<SoftPromptException>(
                () => adapter.Logits(new Batch(100000, 100000, new[] { 1, 2, 3, 4, 5 }), LogitsMode.All));
            Assert.AreEqual(Status.ShapeMismatch, error.Status);
            StringAssert.Contains("input_ids has 5 values", error.NativeMessage);
        }

        [Test]
        public void MultitaskAdapterWithoutTaskIdsIsAnError()
        {
            var options = new AdapterOptions { Method = Method.MultitaskPromptTuning, NumVirtualTokens = 4, NumTasks = 2 };
            using (Adapter mpt = Adapter.Create(model, options))
            {
                var error = Assert.Throws<SoftPromptException>(() => mpt.Logits(new Batch(1, 3, new[] { 5, 6, 7 })));
                Assert.AreEqual(Status.InvalidArgument, error.Status);
            }
        }

        [Test]
        public void StringsWithNulAreRejectedBeforeC()
        {
            Assert.Throws<ArgumentException>(() => adapter.Save("cut\0here"));
        }

        [Test]
        public void NullArgumentsAreArgumentNullException()
        {
            Assert.Throws<ArgumentNullException>(() => Model.Open(null));
            Assert.Throws<ArgumentNullException>(() => Adapter.Create(null));
            Assert.Throws<ArgumentNullException>(() => adapter.Logits(null));
            Assert.Throws<ArgumentNullException>(() => new Batch(1, 1, null));
        }
    }
}
