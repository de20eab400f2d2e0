// Encoder-decoder models through C#, on the tiny T5 (v1: relu, tied and scaled output) of the
// t5_reference fixture (tests/reference/t5_reference.py): the model information, the base model's
// decoder logits and loss on a batch with a decoder side, greedy generation from the encoder's
// prompts, a Seq2SeqLm prompt-tuning adapter against PEFT, and the refusals the decoder side brings.
using System;
using System.IO;
using System.Linq;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    [TestFixture]
    public class Seq2SeqTests
    {
        // t5_reference.py's constants: 3 rows of 22 encoder tokens (real lengths 22, 13, 3), 5 decoder
        // targets per row, 6 generated tokens; encoder_reference.py's seed and virtual token count;
        // T5's pad (= decoder start) and eos ids.
        private const int Rows = 3, Seq = 22, Targets = 5, NewTokens = 6, NumVirtualTokens = 4;
        private const ulong Seed = 11;
        private const int PadId = 0, EosId = 1;
        private const int DFf = 48; // models/t5/config.json's d_ff (not in sp_model_info)

        private string reference;
        private Model t5;
        private Batch batch;

        [TestFixtureSetUp]
        public void OpenT5()
        {
            reference = TestData.T5ReferenceFolder;
            t5 = Model.Open(Path.Combine(reference, "models", "t5"));
            batch = new Batch(Rows, Seq, Data("input_ids.i32"), Data("attention_mask.i32"), Data("labels.i32"),
                              decoderSeqLen: Targets);
        }

        [TestFixtureTearDown]
        public void CloseT5()
        {
            t5.Dispose();
        }

        private int[] Data(string name)
        {
            return TestData.ReadInts(Path.Combine(reference, "t5", name));
        }

        private float[] ReferenceFloats(params string[] path)
        {
            return TestData.ReadFloats(Path.Combine(new[] { reference, "t5" }.Concat(path).ToArray()));
        }

        [Test]
        public void T5InfoSaysEncoderDecoder()
        {
            ModelInfo info = t5.Info;
            Assert.AreEqual("t5", info.ModelType);
            Assert.IsTrue(info.IsEncoderDecoder);
            Assert.IsTrue(info.HasLmHead);
            Assert.AreEqual(2, info.NumLayers);
            Assert.AreEqual(2, info.NumDecoderLayers);
            Assert.AreEqual(PadId, info.DecoderStartTokenId);
            Assert.AreEqual(96, info.VocabSize);
            Assert.AreEqual(32, info.HiddenSize);
        }

        [Test]
        public void DecoderOnlyModelsReportNoDecoderSide()
        {
            using (var llama = Model.Open(TestData.LlamaFolder))
            {
                ModelInfo info = llama.Info;
                Assert.IsFalse(info.IsEncoderDecoder);
                Assert.AreEqual(0, info.NumDecoderLayers);
                Assert.AreEqual(-1, info.DecoderStartTokenId);
            }
        }

        [Test]
        public void BaseLogitsAndLossAreTransformers()
        {
            Assert.AreEqual(Rows * Targets * t5.Info.VocabSize, t5.LogitsCount(batch, LogitsMode.All));
            double forward = T5ForwardLength(0);
            ToleranceRule.AssertWithin("base logits", ReferenceFloats("base_logits.f32"), t5.Logits(batch, LogitsMode.All),
                                       forward);
            ToleranceRule.AssertWithin("base loss", ReferenceFloats("base_loss.f32"), new[] { t5.EvalLoss(batch).MeanLoss },
                                       LossLength(forward));
        }

        /// <summary>
        /// Last is each row's last decoder position (the output layer over fewer rows may round
        /// differently: the tolerance rule); explicit decoder inputs equal to the shifted labels give the
        /// same logits.
        /// </summary>
        [Test]
        public void LastLogitsAndExplicitDecoderInputsAgreeWithAll()
        {
            int vocab = (int)t5.Info.VocabSize;
            float[] all = t5.Logits(batch, LogitsMode.All);
            float[] last = t5.Logits(batch, LogitsMode.Last);
            Assert.AreEqual(Rows * vocab, last.Length);
            var lastOfAll = new float[Rows * vocab];
            for (int row = 0; row < Rows; ++row)
                Array.Copy(all, (row * Targets + Targets - 1) * vocab, lastOfAll, row * vocab, vocab);
            ToleranceRule.AssertWithin("Last logits", lastOfAll, last, T5ForwardLength(0));

            int[] decoderInputs = Data("decoder_input_ids.i32");
            var explicitInputs = new Batch(Rows, Seq, batch.InputIds, batch.AttentionMask, decoderSeqLen: Targets,
                                           decoderInputIds: decoderInputs);
            Floats.AssertEqual(all, t5.Logits(explicitInputs, LogitsMode.All), "explicit decoder inputs");

            // Other decoder inputs give other logits: the array reaches the library.
            var changedInputs = (int[])decoderInputs.Clone();
            changedInputs[1] = changedInputs[1] == 5 ? 6 : 5;
            var changed = new Batch(Rows, Seq, batch.InputIds, batch.AttentionMask, decoderSeqLen: Targets,
                                    decoderInputIds: changedInputs);
            Assert.Greater(Floats.MaxAbsDiff(all, t5.Logits(changed, LogitsMode.All)), 0.0);
        }

        [Test]
        public void GreedyGenerationIsTransformers()
        {
            AssertGeneratesAsReference(null, "base_generated.i32");
        }

        /// <summary>
        /// A Seq2SeqLm prompt-tuning adapter: PEFT's 2n starting rows for the same seed, its logits and
        /// loss, and its greedy generation.
        /// </summary>
        [Test]
        public void PromptTuningAdapterStartsAndScoresAsPeft()
        {
            var options = new AdapterOptions
            {
                Method = Method.PromptTuning, Init = PromptInit.Random, NumVirtualTokens = NumVirtualTokens, Seed = Seed,
                TaskType = TaskType.Seq2SeqLm,
            };
            using (var adapter = Adapter.Create(t5, options))
            {
                Assert.AreEqual(TaskType.Seq2SeqLm, adapter.Info.TaskType);
                float[] table = adapter.Parameter("embedding.weight");
                Assert.AreEqual(2 * NumVirtualTokens * 32, table.Length);
                Floats.AssertEqual(ReferenceFloats("prompt", "init__embedding.weight.f32"), table,
                                                    "embedding.weight");

                // The first n of the 2n rows go in front of the encoder's input.
                double forward = T5ForwardLength(NumVirtualTokens);
                ToleranceRule.AssertWithin("prompt logits", ReferenceFloats("prompt", "logits.f32"),
                                           adapter.Logits(batch, LogitsMode.All), forward);
                ToleranceRule.AssertWithin("prompt loss", ReferenceFloats("prompt", "loss.f32"),
                                           new[] { adapter.EvalLoss(batch).MeanLoss }, LossLength(forward));

                // Generation reads the first n rows into the encoder too: PEFT's generate.
                AssertGeneratesAsReference(adapter, Path.Combine("prompt", "generated.i32"));
            }
        }

        [Test]
        public void RefusalsMapToTheirStatuses()
        {
            // A decoder side on a decoder-only model.
            using (var llama = Model.Open(TestData.LlamaFolder))
            {
                int[] ids = Enumerable.Repeat(5, 2 * 4).ToArray();
                var withDecoderLength = new Batch(2, 4, ids, decoderSeqLen: 3);
                var error = Assert.Throws<SoftPromptException>(() => llama.Logits(withDecoderLength, LogitsMode.All));
                Assert.AreEqual(Status.InvalidArgument, error.Status);
                StringAssert.Contains("decoder", error.NativeMessage);
                var withDecoderInputs = new Batch(2, 4, ids, decoderInputIds: new[] { 1, 2, 3, 4, 5, 6 });
                Assert.AreEqual(Status.InvalidArgument,
                                Assert.Throws<SoftPromptException>(() => llama.EvalLoss(withDecoderInputs)).Status);
            }

            // Decoder inputs whose count is not batchSize * decoderSeqLen.
            var shortInputs = new Batch(Rows, Seq, batch.InputIds, decoderSeqLen: Targets,
                                        decoderInputIds: new[] { 0, 1, 2 });
            Assert.AreEqual(Status.ShapeMismatch,
                            Assert.Throws<SoftPromptException>(() => t5.Logits(shortInputs, LogitsMode.All)).Status);

            // Seq2SeqLm is the only task T5 takes (the default, CausalLm, included), and only T5 takes it.
            var seqCls = new AdapterOptions
            {
                NumVirtualTokens = NumVirtualTokens, Seed = Seed, TaskType = TaskType.SeqCls, NumLabels = 2,
            };
            Assert.AreEqual(Status.Unsupported, Assert.Throws<SoftPromptException>(() => Adapter.Create(t5, seqCls)).Status);
            var causalLm = new AdapterOptions { NumVirtualTokens = NumVirtualTokens, Seed = Seed };
            Assert.AreEqual(Status.Unsupported, Assert.Throws<SoftPromptException>(() => Adapter.Create(t5, causalLm)).Status);
            using (var llama = Model.Open(TestData.LlamaFolder))
            {
                var seq2seq = new AdapterOptions
                {
                    NumVirtualTokens = NumVirtualTokens, Seed = Seed, TaskType = TaskType.Seq2SeqLm,
                };
                Assert.AreEqual(Status.Unsupported,
                                Assert.Throws<SoftPromptException>(() => Adapter.Create(llama, seq2seq)).Status);
            }

            // Scoring continuations is for decoder-only models.
            using (var context = Context.Create(t5, null, new ContextOptions { MaxLength = 32 }))
                Assert.AreEqual(Status.Unsupported,
                                Assert.Throws<SoftPromptException>(
                                    () => context.Score(new[] { new[] { 5, 6, 7 } }, new[] { new[] { 8, 9 } })).Status);
        }

        /// <summary>
        /// Greedy generation of NewTokens tokens from the batch's rows (their real tokens, as the
        /// encoder's prompts) equals the reference's ids up to and including a first eos.
        /// </summary>
        private void AssertGeneratesAsReference(Adapter adapter, string expectedFile)
        {
            int[] expected = Data(expectedFile);
            using (var context = Context.Create(t5, adapter, new ContextOptions { MaxBatchSize = Rows, MaxLength = 32 }))
            {
                Generation generation = context.Generate(RealTokens(batch), new GenerateOptions { MaxNewTokens = NewTokens });
                for (int row = 0; row < Rows; ++row)
                {
                    int[] wanted = UntilEos(expected.Skip(row * NewTokens).Take(NewTokens).ToArray());
                    CollectionAssert.AreEqual(wanted, generation.GetIds(row), expectedFile + " row " + row);
                }
            }
        }

        /// <summary>
        /// The reduction length tests/c/test_seq2seq_conformance.c states for T5 under the tolerance
        /// rule: twice the decoder-only forward length over every position of the call (the encoder's
        /// input, a prompt method's 2n virtual tokens, the decoder's positions), for two stacks whose
        /// attention (self and cross) reads at most that many keys.
        /// </summary>
        private double T5ForwardLength(int virtualTokens)
        {
            ModelInfo info = t5.Info;
            return 2.0 * ToleranceRule.ForwardLength(info.NumLayers, info.HiddenSize, info.NumAttentionHeads, info.HeadDim,
                                                     DFf, Seq + Targets + 2 * virtualTokens, 0);
        }

        /// <summary>A mean cross-entropy over the logits: the log-sum-exp over the vocabulary, then the mean.</summary>
        private double LossLength(double forward)
        {
            return forward + t5.Info.VocabSize + Rows * Targets;
        }

        /// <summary>Each row's real tokens (attention mask 1): the prompts as a user gives them, unpadded.</summary>
        private static int[][] RealTokens(Batch padded)
        {
            return Enumerable.Range(0, padded.BatchSize)
                .Select(row => Enumerable.Range(row * padded.SeqLen, padded.SeqLen)
                                   .Where(i => padded.AttentionMask[i] == 1)
                                   .Select(i => padded.InputIds[i])
                                   .ToArray())
                .ToArray();
        }

        /// <summary>ids up to and including the first eos (the row stops there), or all of them.</summary>
        private static int[] UntilEos(int[] ids)
        {
            int eos = Array.IndexOf(ids, EosId);
            return eos < 0 ? ids : ids.Take(eos + 1).ToArray();
        }
    }
}
