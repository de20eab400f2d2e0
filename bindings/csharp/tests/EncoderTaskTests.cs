// Encoders and task types through C#, on the tiny BERT of the encoder_reference fixture
// (tests/reference/encoder_reference.py): model information, a P-tuning SeqCls adapter whose class
// scores, loss and starting head are transformers'/PEFT's for the same settings, hidden states,
// training on row labels, and the errors the new batch arrays and calls bring.
using System;
using System.IO;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    [TestFixture]
    public class EncoderTaskTests
    {
        // encoder_reference.py's constants: the batch is 3 rows of 7, the ptuning_mlp case has 4
        // virtual tokens, an encoder of width 16 and seed 11; the heads have 3 classes.
        private const int Rows = 3, Seq = 7, NumVirtualTokens = 4, EncoderHiddenSize = 16, NumLabels = 3;
        private const ulong Seed = 11;
        private const int IntermediateSize = 64; // config.json's intermediate_size (not in sp_model_info)

        private string reference;
        private Model bert;
        private Adapter adapter;
        private Batch batch;

        [TestFixtureSetUp]
        public void OpenBert()
        {
            reference = TestData.EncoderReferenceFolder;
            bert = Model.Open(Path.Combine(reference, "models", "bert"));
            string data = Path.Combine(reference, "bert");
            batch = new Batch(Rows, Seq, ReadInts(data, "input_ids.i32"), ReadInts(data, "attention_mask.i32"),
                              tokenTypeIds: ReadInts(data, "token_type_ids.i32"),
                              rowLabels: ReadInts(data, "seq_labels.i32"));
            adapter = Adapter.Create(bert, SeqClsOptions());
        }

        [TestFixtureTearDown]
        public void CloseBert()
        {
            adapter.Dispose();
            bert.Dispose();
        }

        /// <summary>The reference's ptuning_mlp case as a SeqCls adapter.</summary>
        private static AdapterOptions SeqClsOptions()
        {
            return new AdapterOptions
            {
                Method = Method.PTuning, EncoderType = EncoderType.Mlp, NumVirtualTokens = NumVirtualTokens,
                EncoderHiddenSize = EncoderHiddenSize, Seed = Seed, TaskType = TaskType.SeqCls, NumLabels = NumLabels,
            };
        }

        private string CaseFile(string name)
        {
            return Path.Combine(reference, "bert", "ptuning_mlp_seq_cls", name);
        }

        [Test]
        public void BertInfoHasTokenTypesAndNoLanguageModellingHead()
        {
            ModelInfo info = bert.Info;
            Assert.AreEqual("bert", info.ModelType);
            Assert.AreEqual(2, info.TypeVocabSize);
            Assert.IsFalse(info.HasLmHead);
            Assert.AreEqual(32, info.HiddenSize);
            var error = Assert.Throws<SoftPromptException>(() => bert.Logits(batch, LogitsMode.Last));
            Assert.AreEqual(Status.Unsupported, error.Status);
        }

        [Test]
        public void AdapterInfoReportsTheTask()
        {
            AdapterInfo info = adapter.Info;
            Assert.AreEqual(TaskType.SeqCls, info.TaskType);
            Assert.AreEqual(NumLabels, info.NumLabels);
            Assert.AreEqual(32, info.HiddenSize);
            CollectionAssert.Contains(adapter.ParameterNames, "base_model.classifier.weight");
        }

        /// <summary>TaskType, NumLabels and Seed reach the library: the head starts as transformers draws it.</summary>
        [Test]
        public void HeadStartsAsPeftsForTheSameSeed()
        {
            Floats.AssertEqual(TestData.ReadFloats(CaseFile("init__base_model.classifier.weight.f32")),
                               adapter.Parameter("base_model.classifier.weight"), "classifier.weight");
        }

        [Test]
        public void ClassScoresArePeftsAndProbabilitiesSumToOne()
        {
            float[] logits = adapter.Classify(batch, ClassOutput.Logits);
            Assert.AreEqual(Rows * NumLabels, logits.Length);
            // The same call again gives the same bits (the library's values, nothing added on the way).
            Floats.AssertEqual(logits, adapter.Classify(batch, ClassOutput.Logits), "second call");

            // tests/c/tolerance_rule.h with the encoder forward over n + S keys, P-tuning's MLP in front
            // (hidden + 2 * encoder width) and the SeqCls pooler's product (+ hidden), as
            // test_encoder_conformance.c states it.
            ModelInfo info = bert.Info;
            double length = ForwardLength(info, NumVirtualTokens + Seq, info.HiddenSize + 2.0 * EncoderHiddenSize) +
                            info.HiddenSize;
            AssertWithinToleranceRule("class logits", TestData.ReadFloats(CaseFile("logits.f32")), logits, length);

            float[] probabilities = adapter.Classify(batch, ClassOutput.Probabilities);
            Assert.AreEqual(Rows * NumLabels, probabilities.Length);
            for (int row = 0; row < Rows; ++row)
            {
                double sum = 0, max = double.NegativeInfinity, norm = 0;
                for (int c = 0; c < NumLabels; ++c)
                {
                    sum += probabilities[row * NumLabels + c];
                    max = Math.Max(max, logits[row * NumLabels + c]);
                }
                Assert.AreEqual(1.0, sum, 1e-6, "row " + row + " sums to 1");
                for (int c = 0; c < NumLabels; ++c)
                    norm += Math.Exp(logits[row * NumLabels + c] - max);
                for (int c = 0; c < NumLabels; ++c)
                    Assert.AreEqual(Math.Exp(logits[row * NumLabels + c] - max) / norm, probabilities[row * NumLabels + c],
                                    1e-6, "softmax of the logits");
            }
        }

        /// <summary>The token type ids travel with the batch: without them (all 0) the scores change.</summary>
        [Test]
        public void TokenTypeIdsChangeTheScores()
        {
            var withoutTypes = new Batch(Rows, Seq, batch.InputIds, batch.AttentionMask);
            Assert.Greater(Floats.MaxAbsDiff(adapter.Classify(batch, ClassOutput.Logits),
                                             adapter.Classify(withoutTypes, ClassOutput.Logits)),
                           1e-3, "token types made no difference");
        }

        [Test]
        public void LossOnRowLabelsIsPefts()
        {
            Evaluation evaluation = adapter.EvalLoss(batch);
            Assert.AreEqual(Rows, evaluation.RowLogLikelihoods.Length);
            ModelInfo info = bert.Info;
            double forward = ForwardLength(info, NumVirtualTokens + Seq, info.HiddenSize + 2.0 * EncoderHiddenSize) +
                             info.HiddenSize;
            // The log-sum-exp over the classes, then the mean over the rows.
            AssertWithinToleranceRule("loss", TestData.ReadFloats(CaseFile("loss.f32")),
                                      new[] { evaluation.MeanLoss }, forward + NumLabels + Rows);
        }

        [Test]
        public void HiddenStatesHaveOneVectorPerToken()
        {
            Assert.AreEqual(Rows * Seq * adapter.Info.HiddenSize, adapter.HiddenStates(batch).Length);

            float[] baseHidden = bert.HiddenStates(batch);
            Assert.AreEqual(Rows * Seq * bert.Info.HiddenSize, baseHidden.Length);
            AssertWithinToleranceRule("base hidden states",
                                      TestData.ReadFloats(Path.Combine(reference, "bert", "base_hidden.f32")), baseHidden,
                                      ForwardLength(bert.Info, Seq, 0));
        }

        [Test]
        public void TrainingOnRowLabelsLowersTheLoss()
        {
            using (var trained = Adapter.Create(bert, SeqClsOptions()))
            using (var trainer = Trainer.Create(trained, new TrainerOptions { LearningRate = 1e-2 }))
            {
                float before = trained.EvalLoss(batch).MeanLoss;
                TrainResult last = null;
                for (int step = 0; step < 8; ++step)
                {
                    last = trainer.Step(batch);
                    Assert.IsTrue(last.Updated);
                }
                float after = trained.EvalLoss(batch).MeanLoss;
                Assert.Less(after, before - 0.05, "loss " + before + " -> " + after);
                Assert.AreEqual(8, last.UpdatesDone);
            }
        }

        [Test]
        public void ErrorsMapToTheirStatuses()
        {
            // Logits need a CausalLm adapter on a decoder.
            var error = Assert.Throws<SoftPromptException>(() => adapter.Logits(batch, LogitsMode.All));
            Assert.AreEqual(Status.Unsupported, error.Status);
            StringAssert.Contains("logits", error.NativeMessage);

            // A row label outside [0, NumLabels).
            var badLabel = new Batch(Rows, Seq, batch.InputIds, batch.AttentionMask, tokenTypeIds: batch.TokenTypeIds,
                                     rowLabels: new[] { 0, NumLabels, 1 });
            Assert.AreEqual(Status.OutOfRange, Assert.Throws<SoftPromptException>(() => adapter.EvalLoss(badLabel)).Status);
            using (var trainer = Trainer.Create(adapter))
                Assert.AreEqual(Status.OutOfRange, Assert.Throws<SoftPromptException>(() => trainer.Step(badLabel)).Status);

            // Row labels are one per row; a token type outside the model's type vocabulary.
            var shortLabels = new Batch(Rows, Seq, batch.InputIds, rowLabels: new[] { 0, 1 });
            Assert.AreEqual(Status.ShapeMismatch,
                            Assert.Throws<SoftPromptException>(() => adapter.EvalLoss(shortLabels)).Status);
            int[] types = (int[])batch.TokenTypeIds.Clone();
            types[0] = 2;
            var badType = new Batch(Rows, Seq, batch.InputIds, tokenTypeIds: types);
            Assert.AreEqual(Status.OutOfRange,
                            Assert.Throws<SoftPromptException>(() => adapter.Classify(badType, ClassOutput.Logits)).Status);

            // Class scores are a SeqCls or TokenCls adapter's.
            var featureOptions = new AdapterOptions
            {
                NumVirtualTokens = NumVirtualTokens, Seed = Seed, TaskType = TaskType.FeatureExtraction,
            };
            using (var features = Adapter.Create(bert, featureOptions))
            {
                Assert.AreEqual(0, features.Info.NumLabels);
                Assert.AreEqual(Status.Unsupported,
                                Assert.Throws<SoftPromptException>(
                                    () => features.Classify(batch, ClassOutput.Probabilities)).Status);
                Assert.AreEqual(Rows * Seq * 32, features.HiddenStates(batch).Length);
            }
        }

        /// <summary>tests/c/tolerance_rule.h's tolerance_rule_forward_length for this model's sizes.</summary>
        private static double ForwardLength(ModelInfo info, int keys, double encoderLength)
        {
            return ToleranceRule.ForwardLength(info.NumLayers, info.HiddenSize, info.NumAttentionHeads, info.HeadDim,
                                               IntermediateSize, keys, encoderLength);
        }

        private static void AssertWithinToleranceRule(string what, float[] expected, float[] actual, double length)
        {
            ToleranceRule.AssertWithin(what, expected, actual, length);
        }

        private static int[] ReadInts(string folder, string name)
        {
            return TestData.ReadInts(Path.Combine(folder, name));
        }
    }
}
