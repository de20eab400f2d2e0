// The library facts, the model, and the option defaults: these go through the struct and enum
// typemaps, so a field at the wrong offset or an enum with the wrong value shows here.
using System;
using System.Text.RegularExpressions;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    [TestFixture]
    public class LibraryAndModelTests
    {
        [Test]
        public void VersionIsMajorMinorPatch()
        {
            StringAssert.IsMatch(@"^\d+\.\d+\.\d+$", Library.Version);
        }

        [Test]
        public void CudaDeviceCountIsNotNegative()
        {
            Assert.GreaterOrEqual(Library.CudaDeviceCount, 0);
        }

        // The thread count comes back as set, 0 restores the count before any setting, and a
        // negative or absurd count is refused with the value named and the setting unchanged.
        [Test]
        public void NumThreadsRoundTripsAndRefusesImpossibleCounts()
        {
            int original = Library.NumThreads;
            Assert.GreaterOrEqual(original, 1);
            try
            {
                Library.NumThreads = 1;
                Assert.AreEqual(1, Library.NumThreads);
                foreach (int bad in new[] { -1, 100000 })
                {
                    var error = Assert.Throws<SoftPromptException>(() => Library.NumThreads = bad);
                    Assert.AreEqual(Status.InvalidArgument, error.Status);
                    StringAssert.Contains(bad.ToString(), error.NativeMessage);
                    Assert.AreEqual(1, Library.NumThreads);
                }
                using (Model model = Model.Open(TestData.LlamaFolder))
                    Assert.AreEqual(256, model.Logits(new Batch(1, 4, new[] { 3, 9, 27, 81 }), LogitsMode.Last).Length);
            }
            finally
            {
                Library.NumThreads = 0;
            }
            Assert.AreEqual(original, Library.NumThreads);
        }

        // The CPU figures are the process's resident set: non-zero, a peak at least as large,
        // reserved equal to current; resetting the peak succeeds; 64 MiB that C# allocates and
        // touches raise the current figure while they are held (Mono places an array this large in
        // its own fresh mapping, so it is not resident before it is touched).
        [Test]
        public void CpuMemoryStatsFollowTheResidentSet()
        {
            MemoryStats stats = Library.GetMemoryStats(Device.Cpu, 0);
            Assert.Greater(stats.CurrentBytes, 0, stats.ToString());
            Assert.GreaterOrEqual(stats.PeakBytes, stats.CurrentBytes, stats.ToString());
            Assert.AreEqual(stats.CurrentBytes, stats.ReservedBytes, stats.ToString());

            Library.ResetPeakMemory(Device.Cpu, 0);
            MemoryStats afterReset = Library.GetMemoryStats(Device.Cpu, 0);
            Assert.GreaterOrEqual(afterReset.PeakBytes, afterReset.CurrentBytes, afterReset.ToString());

            const long mib = 1 << 20;
            byte[] block = new byte[64 * mib];
            for (int i = 0; i < block.Length; ++i)
                block[i] = 0x5a;
            MemoryStats holding = Library.GetMemoryStats(Device.Cpu, 0);
            Assert.GreaterOrEqual(holding.CurrentBytes - afterReset.CurrentBytes, 32 * mib, afterReset + " then " + holding);
            Assert.GreaterOrEqual(holding.PeakBytes, holding.CurrentBytes, holding.ToString());
            GC.KeepAlive(block);
        }

        // A CUDA device index one past the last device is refused as a device that does not exist.
        [Test]
        public void MemoryStatsOfAMissingCudaDeviceAreRefused()
        {
            int missing = Library.CudaDeviceCount;
            var error = Assert.Throws<SoftPromptException>(() => Library.GetMemoryStats(Device.Cuda, missing));
            Assert.AreEqual(Status.Device, error.Status);
            StringAssert.Contains("does not exist", error.NativeMessage);
            error = Assert.Throws<SoftPromptException>(() => Library.ResetPeakMemory(Device.Cuda, missing));
            Assert.AreEqual(Status.Device, error.Status);
            StringAssert.Contains("does not exist", error.NativeMessage);
        }

        // Each C# Status must carry the number of the C status of the same name (the names are
        // softprompt.h's, which sp_status_string returns for each number).
        [TestCase(Status.Ok, "SP_OK")]
        [TestCase(Status.InvalidArgument, "SP_ERR_INVALID_ARGUMENT")]
        [TestCase(Status.InvalidHandle, "SP_ERR_INVALID_HANDLE")]
        [TestCase(Status.NotFound, "SP_ERR_NOT_FOUND")]
        [TestCase(Status.IO, "SP_ERR_IO")]
        [TestCase(Status.Format, "SP_ERR_FORMAT")]
        [TestCase(Status.Unsupported, "SP_ERR_UNSUPPORTED")]
        [TestCase(Status.ShapeMismatch, "SP_ERR_SHAPE_MISMATCH")]
        [TestCase(Status.OutOfRange, "SP_ERR_OUT_OF_RANGE")]
        [TestCase(Status.BufferTooSmall, "SP_ERR_BUFFER_TOO_SMALL")]
        [TestCase(Status.Device, "SP_ERR_DEVICE")]
        [TestCase(Status.Backend, "SP_ERR_BACKEND")]
        [TestCase(Status.OutOfMemory, "SP_ERR_OUT_OF_MEMORY")]
        [TestCase(Status.Internal, "SP_ERR_INTERNAL")]
        [TestCase(Status.ModelMismatch, "SP_ERR_MODEL_MISMATCH")]
        public void StatusValuesMatchTheCNames(Status status, string cName)
        {
            Assert.AreEqual(cName, Library.StatusName(status));
        }

        [Test]
        public void EveryStatusHasATestCase()
        {
            Assert.AreEqual(15, Enum.GetValues(typeof(Status)).Length, "add the new status to StatusValuesMatchTheCNames");
            Assert.AreEqual("SP_ERR_UNKNOWN", Library.StatusName((Status)99));
        }

        [Test]
        public void OpensTheTinyLlamaAndReportsItsSizes()
        {
            using (Model model = Model.Open(TestData.LlamaFolder))
            {
                ModelInfo info = model.Info;
                Assert.AreEqual("llama", info.ModelType);
                Assert.AreEqual(256, info.VocabSize);
                Assert.AreEqual(64, info.HiddenSize);
                Assert.AreEqual(2, info.NumLayers);
                Assert.AreEqual(info.HiddenSize, info.NumAttentionHeads * info.HeadDim);
                Assert.GreaterOrEqual(info.NumAttentionHeads, info.NumKeyValueHeads);
                Assert.Greater(info.NumKeyValueHeads, 0);
                Assert.Greater(info.MaxPositionEmbeddings, 0);
                Assert.AreEqual(info.VocabSize, model.VocabSize);
            }
        }

        [Test]
        public void ExplicitCpuFloat32OptionsOpenTheModel()
        {
            var options = new ModelOptions { Device = Device.Cpu, DeviceIndex = 0, DType = DType.Float32 };
            using (Model model = Model.Open(TestData.LlamaFolder, options))
                Assert.AreEqual(256, model.Info.VocabSize);
        }

        // AllowTf32 is a CUDA float32 switch: on the CPU both settings open the model, and the logits
        // are bit for bit the same (the CPU has no TF32 path to take).
        [Test]
        public void AllowTf32EitherWayOpensACpuModel()
        {
            var batch = new Batch(1, 4, new[] { 3, 9, 27, 81 });
            var logits = new float[2][];
            bool[] settings = { false, true };
            for (int i = 0; i < settings.Length; ++i)
            {
                var options = new ModelOptions { Device = Device.Cpu, AllowTf32 = settings[i] };
                using (Model model = Model.Open(TestData.LlamaFolder, options))
                {
                    Assert.AreEqual(256, model.Info.VocabSize);
                    logits[i] = model.Logits(batch, LogitsMode.Last);
                }
            }
            Floats.AssertEqual(logits[0], logits[1], "logits with AllowTf32 false and true");
        }

        [Test]
        public void BaseModelLogitsHaveTheDocumentedShapesAndAgreeWithEachOther()
        {
            using (Model model = Model.Open(TestData.LlamaFolder))
            {
                Batch batch = TestData.ReferenceBatch();
                float[] all = model.Logits(batch, LogitsMode.All);
                float[] last = model.Logits(batch, LogitsMode.Last);
                Assert.AreEqual(2 * 6 * 256, all.Length);
                Assert.AreEqual(2 * 256, last.Length);
                // Row 0's last real token is position 5, row 1's is position 3 (mask 1,1,1,1,0,0).
                var row0 = new float[256];
                var row1 = new float[256];
                Array.Copy(all, (0 * 6 + 5) * 256, row0, 0, 256);
                Array.Copy(all, (1 * 6 + 3) * 256, row1, 0, 256);
                var lastRow0 = new float[256];
                var lastRow1 = new float[256];
                Array.Copy(last, 0, lastRow0, 0, 256);
                Array.Copy(last, 256, lastRow1, 0, 256);
                Assert.Less(Floats.MaxAbsDiff(row0, lastRow0), 1e-5, "row 0: Last vs All at position 5");
                Assert.Less(Floats.MaxAbsDiff(row1, lastRow1), 1e-5, "row 1: Last vs All at position 3");
            }
        }

        [Test]
        public void BaseModelEvalLossIsTheMeanOfTheRowLogLikelihoods()
        {
            using (Model model = Model.Open(TestData.LlamaFolder))
            {
                Batch batch = TestData.TrainingBatch(); // 4 rows x 10 tokens, no padding: 9 targets per row
                Evaluation result = model.EvalLoss(batch);
                Assert.AreEqual(4, result.RowLogLikelihoods.Length);
                double sum = 0;
                foreach (float row in result.RowLogLikelihoods)
                {
                    Assert.Less(row, 0f, "a log-likelihood is negative");
                    sum += row;
                }
                Assert.AreEqual(-sum / (4 * 9), result.MeanLoss, 1e-4);
            }
        }

        [Test]
        public void OptionsStartFromTheDocumentedCDefaults()
        {
            var model = new ModelOptions();
            Assert.AreEqual(Device.Cpu, model.Device);
            Assert.AreEqual(0, model.DeviceIndex);
            Assert.AreEqual(DType.Float32, model.DType);
            Assert.IsFalse(model.AllowTf32);

            var adapter = new AdapterOptions();
            Assert.AreEqual(Method.PromptTuning, adapter.Method);
            Assert.AreEqual(20, adapter.NumVirtualTokens);
            Assert.AreEqual(PromptInit.Random, adapter.Init);
            Assert.AreEqual(0, adapter.EncoderHiddenSize);
            Assert.IsFalse(adapter.PrefixProjection);
            Assert.IsFalse(adapter.PrefixZeroInit);
            Assert.AreEqual(EncoderType.Mlp, adapter.EncoderType);
            Assert.AreEqual(2, adapter.EncoderNumLayers);
            Assert.AreEqual(0f, adapter.EncoderDropout);
            Assert.AreEqual(1, adapter.NumTasks);
            Assert.AreEqual(1, adapter.NumRanks);
            Assert.AreEqual(0, adapter.SourceTask);
            Assert.IsNull(adapter.InitTokenIds);
            Assert.IsNull(adapter.SourceAdapter);

            var trainer = new TrainerOptions();
            Assert.AreEqual(3e-2, trainer.LearningRate, 1e-12);
            Assert.AreEqual(0.9, trainer.Beta1, 1e-12);
            Assert.AreEqual(0.999, trainer.Beta2, 1e-12);
            Assert.AreEqual(1e-8, trainer.Eps, 1e-20);
            Assert.AreEqual(0.01, trainer.WeightDecay, 1e-12);
            Assert.AreEqual(0.0, trainer.MaxGradNorm);
            Assert.AreEqual(0, trainer.WarmupSteps);
            Assert.AreEqual(0, trainer.TotalSteps);
            Assert.AreEqual(1, trainer.AccumulationSteps);
        }
    }
}
