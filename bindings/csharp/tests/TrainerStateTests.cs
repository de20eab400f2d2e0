// Trainer states through C#: a run cut by SaveState and resumed by LoadState in a fresh adapter
// (another seed) and trainer (other settings) goes on exactly as the uncut run, bit for bit, for
// every method; the user state comes back; refused states change nothing; Describe reads them.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    [TestFixture]
    public class TrainerStateTests : SharedModelFixture
    {
        private const int Steps = 6;

        private static TrainerOptions RunOptions()
        {
            return new TrainerOptions
            {
                LearningRate = 0.01, WarmupSteps = 1, TotalSteps = 4, MaxGradNorm = 0.5, AccumulationSteps = 2
            };
        }

        private static Batch BatchOf(int step)
        {
            var ids = new int[2 * 6];
            for (int i = 0; i < ids.Length; ++i)
                ids[i] = 3 + (step * 37 + i * 11) % 250;
            return new Batch(2, 6, ids, taskIds: new[] { step % 2, 1 - step % 2 });
        }

        private static float[] AllParameters(Adapter adapter)
        {
            return adapter.ParameterNames.SelectMany(name => adapter.Parameter(name)).ToArray();
        }

        private static void Train(Trainer trainer, int first, int end, TrainResult[] results)
        {
            for (int step = first; step < end; ++step)
                results[step] = trainer.Step(BatchOf(step));
        }

        [TestCaseSource(typeof(AdapterVariants), "All")]
        public void ResumesExactly(Method method, bool projection, EncoderType encoder, int tasks)
        {
            string scratch = TestData.NewScratchFolder("state_" + method + (projection ? "_projection" : "") + "_" + encoder);
            string path = Path.Combine(scratch, "run.spstate");
            var straight = new TrainResult[Steps];
            var resumed = new TrainResult[Steps];
            float[] expected;
            using (Adapter adapter = Adapter.Create(model, AdapterVariants.Options(method, projection, encoder, tasks)))
            using (Trainer trainer = Trainer.Create(adapter, RunOptions()))
            {
                Train(trainer, 0, Steps, straight);
                expected = AllParameters(adapter);
            }
            byte[] user = Encoding.UTF8.GetBytes("epoch 1, position 3");
            using (Adapter adapter = Adapter.Create(model, AdapterVariants.Options(method, projection, encoder, tasks)))
            using (Trainer trainer = Trainer.Create(adapter, RunOptions()))
            {
                Train(trainer, 0, 3, resumed); // mid-accumulation: gradients held
                trainer.SaveState(path, user);
            }
            AdapterOptions fresh = AdapterVariants.Options(method, projection, encoder, tasks);
            fresh.Seed = 77;
            using (Adapter adapter = Adapter.Create(model, fresh))
            using (Trainer trainer = Trainer.Create(adapter, new TrainerOptions { LearningRate = 1.0 }))
            {
                Assert.IsFalse(AllParameters(adapter).SequenceEqual(expected), "the fresh adapter starts where the run ended");
                CollectionAssert.AreEqual(user, trainer.LoadState(path));
                Train(trainer, 3, Steps, resumed);
                for (int step = 0; step < Steps; ++step)
                {
                    Assert.AreEqual(BitConverter.GetBytes(straight[step].Loss), BitConverter.GetBytes(resumed[step].Loss),
                                    "loss of step " + step);
                    Assert.AreEqual(straight[step].UpdatesDone, resumed[step].UpdatesDone, "updates after step " + step);
                }
                Floats.AssertEqual(expected, AllParameters(adapter), "parameters after the resumed run");
            }
            string json = Adapter.Describe(path);
            StringAssert.Contains("\"format\":\"trainer-state\"", json);
            StringAssert.Contains("\"micro_steps\":3", json);
            StringAssert.Contains("\"user_state_size\":" + user.Length, json);
        }

        [Test]
        public void RefusedStatesChangeNothingAndLargeUserStatesComeBack()
        {
            string scratch = TestData.NewScratchFolder("state_refused");
            string other = Path.Combine(scratch, "other.spstate");
            using (Adapter adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 3 }))
            using (Trainer trainer = Trainer.Create(adapter, RunOptions()))
                trainer.SaveState(other);
            using (Adapter adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 4 }))
            using (Trainer trainer = Trainer.Create(adapter, RunOptions()))
            {
                Train(trainer, 0, 1, new TrainResult[Steps]);
                float[] before = AllParameters(adapter);
                Assert.AreEqual(Status.ShapeMismatch, Assert.Throws<SoftPromptException>(() => trainer.LoadState(other)).Status);
                Assert.AreEqual(Status.NotFound,
                                Assert.Throws<SoftPromptException>(() => trainer.LoadState(Path.Combine(scratch, "none"))).Status);
                Floats.AssertEqual(before, AllParameters(adapter), "after refused loads");

                // Larger than the first buffer the binding offers: loaded on the second try.
                byte[] large = Enumerable.Range(0, 10000).Select(i => (byte)(i * 13)).ToArray();
                string path = Path.Combine(scratch, "large.spstate");
                trainer.SaveState(path, large);
                CollectionAssert.AreEqual(large, trainer.LoadState(path));
                trainer.SaveState(path);
                Assert.AreEqual(0, trainer.LoadState(path).Length);
            }
        }

        [Test]
        public void DescribeReadsFoldersAndFiles()
        {
            string scratch = TestData.NewScratchFolder("describe");
            using (Adapter adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 8 }))
            {
                adapter.Save(Path.Combine(scratch, "folder"));
                adapter.SaveFile(Path.Combine(scratch, "adapter.spadapter"));
            }
            string folder = Adapter.Describe(Path.Combine(scratch, "folder"));
            StringAssert.Contains("\"format\":\"peft-folder\"", folder);
            StringAssert.Contains("\"name\":\"prompt_embeddings\",\"shape\":[8,64]", folder);
            StringAssert.Contains("\"parameter_count\":512", folder);
            string file = Adapter.Describe(Path.Combine(scratch, "adapter.spadapter"));
            StringAssert.Contains("\"format\":\"single-file\"", file);
            StringAssert.Contains("\"model_type\":\"llama\"", file);
            Assert.AreEqual(Status.NotFound,
                            Assert.Throws<SoftPromptException>(() => Adapter.Describe(Path.Combine(scratch, "missing"))).Status);
            File.WriteAllText(Path.Combine(scratch, "text.txt"), "not an adapter");
            Assert.AreEqual(Status.Format,
                            Assert.Throws<SoftPromptException>(() => Adapter.Describe(Path.Combine(scratch, "text.txt"))).Status);
        }
    }

    [TestFixture]
    public class ChatTemplateTests
    {
        /// <summary>SmolLM2-Instruct's chat_template, as its tokenizer_config.json holds it.</summary>
        private const string SmolLM2Template =
            "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou "
            + "are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + "
            + "message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
            + "'<|im_start|>assistant\\n' }}{% endif %}";
        private const string DefaultSystem =
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n";

        /// <summary>A folder with the byte-level tokenizer.json and, when given, a tokenizer_config.json.</summary>
        private static string TokenizerFolder(string name, string config)
        {
            string folder = TestData.NewScratchFolder(name);
            File.Copy(Path.Combine(TestData.GenerationModelFolder, "tokenizer.json"), Path.Combine(folder, "tokenizer.json"));
            if (config != null)
                File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), config);
            return folder;
        }

        private static string JsonString(string text)
        {
            return "\"" + text.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n") + "\"";
        }

        [Test]
        public void ChatMlConversations()
        {
            string folder = TokenizerFolder("chat_smollm2", "{\"chat_template\": " + JsonString(SmolLM2Template) + "}");
            using (Tokenizer tokenizer = Tokenizer.Load(folder))
            {
                Assert.AreEqual(DefaultSystem + "<|im_start|>user\nHéllo, 世界 🙂<|im_end|>\n<|im_start|>assistant\n",
                                tokenizer.ApplyChatTemplate(new[] { new ChatMessage("user", "Héllo, 世界 🙂") }, true));
                var conversation = new List<ChatMessage>
                {
                    new ChatMessage("system", "Be brief."), new ChatMessage("user", "2+2?"), new ChatMessage("assistant", "4"),
                    new ChatMessage("user", "")
                };
                Assert.AreEqual("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n" +
                                    "<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\n<|im_end|>\n",
                                tokenizer.ApplyChatTemplate(conversation, false));
                string longText = new string('é', 3000); // longer than the first buffer the binding offers
                Assert.AreEqual("<|im_start|>system\n" + longText + "<|im_end|>\n",
                                tokenizer.ApplyChatTemplate(new[] { new ChatMessage("system", longText) }, false));
            }
        }

        [Test]
        public void MissingAndForeignTemplatesAreRefused()
        {
            var hello = new[] { new ChatMessage("user", "hi") };
            using (Tokenizer none = Tokenizer.Load(TokenizerFolder("chat_none", null)))
                Assert.AreEqual(Status.NotFound, Assert.Throws<SoftPromptException>(() => none.ApplyChatTemplate(hello, true)).Status);
            string llama2 = "{\"chat_template\": \"{{ bos_token }}{% for message in messages %}[INST] {{ message['content'] }} [/INST]{% endfor %}\"}";
            using (Tokenizer foreign = Tokenizer.Load(TokenizerFolder("chat_foreign", llama2)))
                Assert.AreEqual(Status.Unsupported,
                                Assert.Throws<SoftPromptException>(() => foreign.ApplyChatTemplate(hello, true)).Status);
        }
    }
}
