// Saving and loading through C#: both formats give back an adapter with the same logits, and
// paths are UTF-8 end to end (a non-ASCII, non-BMP folder name survives the round trip).
using System.IO;
using System.Linq;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    [TestFixture]
    public class SaveLoadTests : SharedModelFixture
    {
        /// <summary>An adapter trained a few steps, so that saving cannot pass by writing the initial values.</summary>
        private Adapter Trained(AdapterOptions options)
        {
            Adapter adapter = Adapter.Create(model, options);
            using (Trainer trainer = Trainer.Create(adapter, new TrainerOptions { LearningRate = 0.01 }))
                for (int step = 0; step < 5; ++step)
                    trainer.Step(TestData.TrainingBatch());
            return adapter;
        }

        // Tolerance 0: the saved float32 tensors come back bit for bit, and the forward pass on CPU
        // is deterministic. (PEFT's folder stores P-tuning and projected prefixes as their encoder
        // outputs, which the reloaded adapter uses as they are: the same floats.)
        [TestCaseSource(typeof(AdapterVariants), "All")]
        public void FolderAndFileGiveBackTheSameLogits(Method method, bool projection, EncoderType encoder, int tasks)
        {
            string scratch = TestData.NewScratchFolder("save_" + method + (projection ? "_projection" : "") + "_" + encoder);
            string folder = Path.Combine(scratch, "peft");
            string file = Path.Combine(scratch, "adapter.spadapter");
            Batch batch = TestData.TrainingBatch();
            using (Adapter adapter = Trained(AdapterVariants.Options(method, projection, encoder, tasks)))
            {
                float[] expected = adapter.Logits(batch, LogitsMode.All);
                adapter.Save(folder);
                adapter.SaveFile(file);
                Assert.IsTrue(File.Exists(Path.Combine(folder, "adapter_config.json")));
                Assert.IsTrue(File.Exists(Path.Combine(folder, "adapter_model.safetensors")));
                Assert.IsTrue(File.Exists(file));

                using (Adapter fromFolder = Adapter.Load(model, folder))
                using (Adapter fromFile = Adapter.LoadFile(model, file))
                {
                    Assert.AreEqual(method, fromFolder.Info.Method);
                    Assert.AreEqual(method, fromFile.Info.Method);
                    Floats.AssertEqual(expected, fromFolder.Logits(batch, LogitsMode.All), "reloaded from the PEFT folder");
                    Floats.AssertEqual(expected, fromFile.Logits(batch, LogitsMode.All), "reloaded from the single file");
                    // The single file keeps every trainable tensor, encoders included.
                    CollectionAssert.AreEqual(adapter.ParameterNames.ToArray(), fromFile.ParameterNames.ToArray());
                }
            }
        }

        [Test]
        public void NonAsciiFolderNameRoundTrips()
        {
            const string name = "x_ü_😀";
            string scratch = TestData.NewScratchFolder("non_ascii");
            string folder = Path.Combine(scratch, name);
            string file = Path.Combine(scratch, name + ".spadapter");
            Batch batch = TestData.TrainingBatch();
            using (Adapter adapter = Trained(new AdapterOptions { NumVirtualTokens = 4 }))
            {
                adapter.Save(folder);
                adapter.SaveFile(file);
                // What C created on disk has exactly this name (Mono decodes file names as UTF-8):
                // a wrong encoding would show up as another name, e.g. CESU-8 or '?'s.
                CollectionAssert.AreEqual(new[] { name }, Directory.GetDirectories(scratch).Select(Path.GetFileName).ToArray());
                CollectionAssert.AreEqual(new[] { name + ".spadapter" }, Directory.GetFiles(scratch).Select(Path.GetFileName).ToArray());
                using (Adapter fromFolder = Adapter.Load(model, folder))
                using (Adapter fromFile = Adapter.LoadFile(model, file))
                {
                    float[] expected = adapter.Logits(batch);
                    Floats.AssertEqual(expected, fromFolder.Logits(batch), "from " + name);
                    Floats.AssertEqual(expected, fromFile.Logits(batch), "from " + name + ".spadapter");
                }
            }
        }

        [Test]
        public void ErrorMessagesDecodeNonAsciiPaths()
        {
            string missing = Path.Combine(TestData.NewScratchFolder("non_ascii_missing"), "gone_ü_😀");
            var error = Assert.Throws<SoftPromptException>(() => Adapter.Load(model, missing));
            Assert.AreEqual(Status.NotFound, error.Status);
            StringAssert.Contains("gone_ü_😀", error.NativeMessage);
        }
    }
}
