// Serving many adapters through C# (issue 14): batches whose rows name their own adapters
// (Batch's rowAdapters) and prompts that do (the adapters argument of Context's calls) give each row
// what it gets alone with its adapter; adapter versions; the errors of the new arrays; and Dispose
// still freeing at once. Expected values come from the same library called row by row
// (Adapter.Logits, Model.Logits, a context created with the row's adapter), compared with the
// suites' tolerance rule (tests/c/tolerance_rule.h): the mixed batch sums in another order (other
// padding, per-row key/value prefixes), never other values.
using System;
using System.Linq;
using System.Threading;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    [TestFixture]
    public class MixedAdapterTests : SharedModelFixture
    {
        // The tiny llama's intermediate_size (make_tiny_model's default; not in sp_model_info).
        private const int IntermediateSize = 128;
        private const int MaxVirtualTokens = 6;

        private Adapter promptTuning;
        private Adapter prefixTuning;

        [SetUp]
        public void CreateAdapters()
        {
            promptTuning = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 4, Seed = 3 });
            prefixTuning = Adapter.Create(model, new AdapterOptions
            {
                Method = Method.PrefixTuning,
                NumVirtualTokens = MaxVirtualTokens,
                Seed = 4
            });
        }

        [TearDown]
        public void DisposeAdapters()
        {
            prefixTuning.Dispose();
            promptTuning.Dispose();
        }

        // n ids in [3, 253) from the LCG of the other tests.
        private static int[] Ids(uint seed, int n)
        {
            var ids = new int[n];
            uint state = seed;
            for (int i = 0; i < n; ++i)
            {
                state = unchecked(state * 1103515245u + 12345u);
                ids[i] = (int)(3 + (state >> 10) % 250u);
            }
            return ids;
        }

        // The tolerance rule's reduction length of one forward pass of the model over keys positions.
        private double ForwardLength(int keys)
        {
            ModelInfo info = model.Info;
            return ToleranceRule.ForwardLength(info.NumLayers, info.HiddenSize, info.NumAttentionHeads, info.HeadDim,
                                               IntermediateSize, keys, 0);
        }

        private float[] AloneLogits(Adapter adapter, Batch row)
        {
            return adapter == null ? model.Logits(row, LogitsMode.All) : adapter.Logits(row, LogitsMode.All);
        }

        private Evaluation AloneEvaluation(Adapter adapter, Batch row)
        {
            return adapter == null ? model.EvalLoss(row) : adapter.EvalLoss(row);
        }

        private static GenerateOptions Greedy(int tokens)
        {
            return new GenerateOptions { MaxNewTokens = tokens, UseModelEos = false };
        }

        private static void AssertStatus(Status status, TestDelegate call)
        {
            Assert.AreEqual(status, Assert.Throws<SoftPromptException>(call).Status);
        }

        private static float[] Slice(float[] values, int start, int count)
        {
            var slice = new float[count];
            Array.Copy(values, start, slice, 0, count);
            return slice;
        }

        private static int[] Slice(int[] values, int start, int count)
        {
            var slice = new int[count];
            Array.Copy(values, start, slice, 0, count);
            return slice;
        }

        // One batch mixes a prompt-tuning row, a prefix-tuning row (another virtual-token count), a row
        // without any soft prompt and the prompt-tuning adapter again: every row's logits (at every
        // position) and log-likelihood are those of the row alone.
        [Test]
        public void MixedBatchRowsEqualEachRowAlone()
        {
            const int rows = 4, seqLen = 7;
            Adapter[] adapters = { promptTuning, prefixTuning, null, promptTuning };
            int[] inputIds = Ids(21, rows * seqLen);
            var batch = new Batch(rows, seqLen, inputIds, rowAdapters: adapters);
            int vocab = (int)model.Info.VocabSize;
            double forward = ForwardLength(seqLen + MaxVirtualTokens);

            float[] mixed = model.Logits(batch, LogitsMode.All);
            Assert.AreEqual(rows * seqLen * vocab, mixed.Length);
            Evaluation evaluation = model.EvalLoss(batch);
            for (int r = 0; r < rows; ++r)
            {
                var row = new Batch(1, seqLen, Slice(inputIds, r * seqLen, seqLen));
                ToleranceRule.AssertWithin("logits of row " + r, AloneLogits(adapters[r], row),
                                           Slice(mixed, r * seqLen * vocab, seqLen * vocab), forward);
                ToleranceRule.AssertWithin("log-likelihood of row " + r, AloneEvaluation(adapters[r], row).RowLogLikelihoods,
                                           new[] { evaluation.RowLogLikelihoods[r] }, forward + vocab + seqLen + 1);
            }
            float[] baseLogits = AloneLogits(null, new Batch(1, seqLen, Slice(inputIds, 0, seqLen)));
            Assert.IsFalse(baseLogits.SequenceEqual(Slice(mixed, 0, seqLen * vocab)),
                           "row 0 has the base model's logits: its adapter was not applied");
        }

        // Prompts with their own adapters on a context created with another one: a prefix-tuning row, a
        // row of the base model (null entry) and a row of the context's own adapter generate, greedily,
        // the tokens each prompt generates alone on a context of its adapter; Prefill and Score agree
        // with those contexts too.
        [Test]
        public void PromptAdaptersGenerateWhatEachPromptGeneratesAlone()
        {
            Adapter[] adapters = { prefixTuning, null, promptTuning };
            int[][] prompts = { Ids(5, 3), Ids(6, 6), Ids(7, 9) };
            int[][] continuations = { Ids(8, 2), Ids(9, 3), Ids(10, 4) };
            int vocab = (int)model.Info.VocabSize;
            using (Context context = Context.Create(model, promptTuning, new ContextOptions { MaxBatchSize = 3, MaxLength = 64 }))
            {
                Generation generation = context.Generate(prompts, Greedy(10), adapters: adapters);
                float[] logits = context.Prefill(prompts, adapters: adapters);
                float[] scores = context.Score(prompts, continuations, adapters: adapters);
                for (int r = 0; r < adapters.Length; ++r)
                {
                    using (Context alone = Context.Create(model, adapters[r], new ContextOptions { MaxLength = 64 }))
                    {
                        int[][] prompt = { prompts[r] };
                        CollectionAssert.AreEqual(alone.Generate(prompt, Greedy(10)).GetIds(0), generation.GetIds(r),
                                                  "row " + r + " generated");
                        double forward = ForwardLength(prompts[r].Length + continuations[r].Length + MaxVirtualTokens);
                        ToleranceRule.AssertWithin("prefill logits of row " + r, alone.Prefill(prompt),
                                                   Slice(logits, r * vocab, vocab), forward);
                        ToleranceRule.AssertWithin("score of row " + r, alone.Score(prompt, new[] { continuations[r] }),
                                                   new[] { scores[r] }, forward + vocab + continuations[r].Length);
                    }
                }
                Assert.IsFalse(generation.GetIds(0).SequenceEqual(generation.GetIds(2)) &&
                                   generation.GetIds(1).SequenceEqual(generation.GetIds(2)),
                               "the three rows generated the same tokens: the test does not tell the adapters apart");
            }
        }

        // An adapter's version is 1 or more once created, and grows with each trainer step that updates it.
        [Test]
        public void AdapterVersionGrowsWithTraining()
        {
            using (Adapter adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 4, Seed = 1 }))
            using (Trainer trainer = Trainer.Create(adapter))
            {
                ulong created = adapter.Info.Version;
                Assert.GreaterOrEqual(created, 1UL, "version after Create");
                Assert.IsTrue(trainer.Step(TestData.TrainingBatch()).Updated, "the step updated the adapter");
                Assert.Greater(adapter.Info.Version, created, "version after a trainer step");
            }
        }

        // The new arrays fail the library's way: another length than one per row or prompt is
        // ShapeMismatch, an adapter of another model InvalidArgument; a disposed adapter is
        // ObjectDisposedException, as for every disposed object; adapter calls refuse row adapters.
        [Test]
        public void MixedAdapterErrors()
        {
            using (Model other = Model.Open(TestData.LlamaFolder))
            using (Adapter foreign = Adapter.Create(other, new AdapterOptions { NumVirtualTokens = 4 }))
            using (Context context = Context.Create(model, null, new ContextOptions { MaxBatchSize = 2, MaxLength = 32 }))
            {
                Adapter disposed = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 4, Seed = 2 });
                disposed.Dispose();
                int[] inputIds = Ids(3, 2 * 5);
                Func<Adapter[], Batch> batch = adapters => new Batch(2, 5, inputIds, rowAdapters: adapters);
                AssertStatus(Status.ShapeMismatch, () => model.Logits(batch(new[] { promptTuning })));
                AssertStatus(Status.ShapeMismatch, () => model.EvalLoss(batch(new[] { promptTuning, prefixTuning, null })));
                AssertStatus(Status.InvalidArgument, () => model.Logits(batch(new[] { promptTuning, foreign })));
                AssertStatus(Status.InvalidArgument, () => model.HiddenStates(batch(new[] { foreign, null })));
                Assert.Throws<ObjectDisposedException>(() => model.Logits(batch(new[] { disposed, prefixTuning })));
                AssertStatus(Status.InvalidArgument, () => promptTuning.Logits(batch(new[] { prefixTuning, null })));

                int[][] prompts = { Ids(4, 3), Ids(5, 4) };
                AssertStatus(Status.ShapeMismatch, () => context.Generate(prompts, Greedy(2), adapters: new[] { prefixTuning }));
                AssertStatus(Status.ShapeMismatch,
                             () => context.Prefill(prompts, adapters: new[] { prefixTuning, null, promptTuning }));
                AssertStatus(Status.InvalidArgument,
                             () => context.Score(prompts, new[] { new[] { 7 }, new[] { 8 } }, adapters: new[] { foreign, null }));
                Assert.Throws<ObjectDisposedException>(
                    () => context.Stream(prompts, Greedy(2), adapters: new[] { null, disposed }).ToList());
                // After the failures, the same calls with valid adapters work.
                model.Logits(batch(new[] { promptTuning, null }));
                Assert.AreEqual(2, context.Generate(prompts, Greedy(2), adapters: new[] { prefixTuning, null }).Rows);
            }
        }

        // A mixed call holds its adapters only while it runs: disposing one right after frees it (later
        // calls naming it throw ObjectDisposedException), disposing twice does nothing, and disposing
        // while other threads make mixed calls with it waits for them (each call succeeds or sees it
        // disposed).
        [Test]
        public void MixedCallsLeaveAdaptersToDispose()
        {
            Adapter adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 4, Seed = 9 });
            var batch = new Batch(2, 6, Ids(11, 12), rowAdapters: new[] { adapter, prefixTuning });
            int[][] prompts = { Ids(12, 3), Ids(13, 5) };
            Adapter[] adapters = { prefixTuning, adapter };
            using (Context context = Context.Create(model, null, new ContextOptions { MaxBatchSize = 2, MaxLength = 32 }))
            {
                model.Logits(batch);
                context.Prefill(prompts, adapters: adapters);

                Exception failure = null;
                var callers = new Thread[4];
                for (int i = 0; i < callers.Length; ++i)
                {
                    callers[i] = new Thread(() =>
                    {
                        try
                        {
                            for (int call = 0; call < 20; ++call)
                                model.Logits(batch);
                        }
                        catch (ObjectDisposedException)
                        {
                            // the adapter was disposed between two calls
                        }
                        catch (Exception e)
                        {
                            Interlocked.CompareExchange(ref failure, e, null);
                        }
                    });
                    callers[i].Start();
                }
                Thread.Sleep(5);
                adapter.Dispose();
                adapter.Dispose();
                foreach (Thread caller in callers)
                    Assert.IsTrue(caller.Join(30000), "a calling thread did not stop");
                Assert.IsNull(failure);
                Assert.IsTrue(adapter.IsDisposed);
                Assert.Throws<ObjectDisposedException>(() => model.Logits(batch));
                Assert.Throws<ObjectDisposedException>(() => context.Prefill(prompts, adapters: adapters));
                Assert.Throws<ObjectDisposedException>(() => { var unused = adapter.Info; });
            }
        }

        // Cycles of creating a large prefix-tuning adapter, serving it in a mixed batch and in a context
        // call, and disposing it do not grow the resident memory: every adapter the binding AddRef's for a
        // call is released, so Dispose frees it. Each adapter holds 128 virtual tokens (a prefix of 64 KiB:
        // 128 x 2 layers x keys and values x 32 floats, and what is compiled from it): the same cycles with
        // the adapters left undisposed grew the RSS by about 25 MiB (measured in Go); the bound, 8 MiB, leaves
        // room for allocator, JIT and GC heap noise.
        [Test]
        public void MixedCallCyclesDoNotGrowMemory()
        {
            var options = new AdapterOptions { Method = Method.PrefixTuning, NumVirtualTokens = 128 };
            int[] inputIds = Ids(14, 2 * 4);
            int[][] prompts = { Ids(15, 4) };
            var output = new float[2 * (int)model.Info.VocabSize];
            const int cycles = 500;
            const long boundKiB = 8 * 1024;
            using (Context context = Context.Create(model, null, new ContextOptions { MaxLength = 16 }))
            {
                for (int i = 0; i < 100; ++i)
                    Cycle(options, (ulong)i, inputIds, prompts, context, output);
                long before = MemoryTests.ResidentKiB();
                for (int i = 0; i < cycles; ++i)
                    Cycle(options, (ulong)i, inputIds, prompts, context, output);
                long growth = MemoryTests.ResidentKiB() - before;
                Console.WriteLine("    RSS growth over {0} mixed-call cycles: {1} KiB (bound {2} KiB)", cycles, growth,
                                  boundKiB);
                Assert.LessOrEqual(growth, boundKiB, "resident memory grew by more than the bound");
            }
        }

        private void Cycle(AdapterOptions options, ulong seed, int[] inputIds, int[][] prompts, Context context,
                           float[] output)
        {
            options.Seed = seed;
            using (Adapter adapter = Adapter.Create(model, options))
            {
                model.Logits(new Batch(2, 4, inputIds, rowAdapters: new[] { adapter, null }), LogitsMode.Last, output);
                context.Prefill(prompts, adapters: new[] { adapter });
            }
        }
    }
}
