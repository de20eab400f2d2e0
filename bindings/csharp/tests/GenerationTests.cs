// Contexts through C# on the tiny llama with a byte-level tokenizer (model vocabulary 256: the
// generated ids are the tokenizer's byte tokens, so their text is often partial UTF-8). Expected
// values come from the tokenizer's decode, from the model's own logits (Prefill / Decode, with the
// argmax and log-softmax computed here) and from first principles.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    [TestFixture]
    public class GenerationTests
    {
        // Three prompts of different lengths, all ids below 256 ("Qz!Zq", "{|}~$%^", "$").
        private static readonly int[][] Prompts = { new[] { 48, 89, 0, 57, 80 }, new[] { 90, 91, 92, 93, 3, 4, 61 }, new[] { 3 } };

        private Model model;
        private Tokenizer tokenizer;
        private Context context;

        [TestFixtureSetUp]
        public void Open()
        {
            model = Model.Open(TestData.GenerationModelFolder);
            tokenizer = model.GetTokenizer();
            context = Context.Create(model, null, new ContextOptions { MaxBatchSize = 4, MaxLength = 96 });
        }

        [TestFixtureTearDown]
        public void Close()
        {
            context.Dispose();
            tokenizer.Dispose();
            model.Dispose();
        }

        private static GenerateOptions Greedy(int tokens)
        {
            return new GenerateOptions { MaxNewTokens = tokens, UseModelEos = false };
        }

        private static GenerateOptions Sampled(int tokens, ulong seed)
        {
            GenerateOptions options = Greedy(tokens);
            options.DoSample = true;
            options.Temperature = 1.5f;
            options.TopK = 0;
            options.Seed = seed;
            return options;
        }

        private static int[] Ids(IEnumerable<TokenEvent> events)
        {
            return events.Select(e => e.TokenId).ToArray();
        }

        [Test]
        public void StreamedTextIsTheDecodedTextInWholeCharacters()
        {
            int multiByte = 0, heldBack = 0;
            var strict = new UTF8Encoding(false, true);
            foreach (GenerateOptions options in new[] { Greedy(24), Sampled(48, 7) })
            {
                List<TokenEvent> events = context.Stream(Prompts, options).ToList();
                for (int row = 0; row < Prompts.Length; ++row)
                {
                    List<TokenEvent> rowEvents = events.Where(e => e.Row == row).ToList();
                    var joined = new StringBuilder();
                    for (int i = 0; i < rowEvents.Count; ++i)
                    {
                        string text = rowEvents[i].Text;
                        // Whole characters: a strict UTF-8 round trip succeeds and changes nothing (a
                        // lone surrogate would throw; a split character would have been decoded as
                        // U+FFFD here, and the join below would differ from Decode).
                        Assert.AreEqual(text, strict.GetString(strict.GetBytes(text)));
                        Assert.AreEqual(i == rowEvents.Count - 1, rowEvents[i].IsLast, "only the last event stops the row");
                        multiByte += text.Any(c => c >= 0x80) ? 1 : 0;
                        heldBack += text.Length == 0 ? 1 : 0;
                        joined.Append(text);
                    }
                    Assert.AreEqual(options.MaxNewTokens, rowEvents.Count);
                    Assert.AreEqual(tokenizer.Decode(Ids(rowEvents), true), joined.ToString(), "row " + row);
                }
            }
            Assert.Greater(multiByte, 0, "the sampled rows reach non-ASCII characters");
            Assert.Greater(heldBack, 0, "some pieces hold bytes back");
        }

        // Greedy by hand: Prefill, then the argmax (lowest id on ties) fed back through Decode.
        private int[] GreedyByHand(int[] prompt, int tokens)
        {
            int vocab = (int)model.VocabSize;
            var ids = new int[tokens];
            float[] logits = context.Prefill(new[] { prompt });
            for (int i = 0; i < tokens; ++i)
            {
                int best = 0;
                for (int v = 1; v < vocab; ++v)
                    if (logits[v] > logits[best])
                        best = v;
                ids[i] = best;
                if (i + 1 < tokens)
                    logits = context.Decode(new[] { best });
            }
            return ids;
        }

        [Test]
        public void StreamedIdsEqualGenerateAndGreedyByHand()
        {
            List<TokenEvent> events = context.Stream(new[] { Prompts[0] }, Greedy(20)).ToList();
            Generation generation = context.Generate(new[] { Prompts[0] }, Greedy(20));
            CollectionAssert.AreEqual(generation.GetIds(0), Ids(events));
            Assert.AreEqual(StopReason.MaxTokens, generation.GetStopReason(0));
            Assert.AreEqual(StopReason.MaxTokens, events.Last().StopReason);
            Assert.AreEqual(tokenizer.Decode(Ids(events), true), generation.GetText(0));
            CollectionAssert.AreEqual(GreedyByHand(Prompts[0], 20), Ids(events));
            // StreamText: the same text, in its non-empty pieces.
            string text = string.Concat(context.StreamText("Qz!Zq", Greedy(20)));
            Assert.AreEqual(generation.GetText(0), text);
        }

        [Test]
        public void EachRowOfABatchGetsWhatItGetsAlone()
        {
            foreach (GenerateOptions options in new[] { Greedy(16), Sampled(16, 11) })
            {
                Generation batch = context.Generate(Prompts, options);
                for (int row = 0; row < Prompts.Length; ++row)
                {
                    Generation alone = context.Generate(new[] { Prompts[row] }, options);
                    // Sampling seeds each row's generator from the seed and the row index: alone, a
                    // prompt is row 0, so only greedy rows must agree beyond row 0.
                    if (!options.DoSample || row == 0)
                        CollectionAssert.AreEqual(alone.GetIds(0), batch.GetIds(row), "row " + row);
                }
            }
        }

        [Test]
        public void SeededSamplingIsReproducible()
        {
            Generation first = context.Generate(Prompts, Sampled(24, 42));
            Generation again = context.Generate(Prompts, Sampled(24, 42));
            Generation other = context.Generate(Prompts, Sampled(24, 43));
            Generation greedy = context.Generate(Prompts, Greedy(24));
            for (int row = 0; row < Prompts.Length; ++row)
            {
                CollectionAssert.AreEqual(first.GetIds(row), again.GetIds(row));
                CollectionAssert.AreNotEqual(first.GetIds(row), other.GetIds(row));
                CollectionAssert.AreNotEqual(first.GetIds(row), greedy.GetIds(row));
            }
        }

        [Test]
        public void ACallbackReturningFalseStopsEveryRow()
        {
            var seen = new List<TokenEvent>();
            Generation generation = context.Generate(Prompts, Greedy(16), e =>
            {
                seen.Add(e);
                return seen.Count < 4; // stops at the fourth event: row 0's second token
            });
            Assert.AreEqual(4, seen.Count);
            Generation full = context.Generate(Prompts, Greedy(16));
            int total = 0;
            for (int row = 0; row < Prompts.Length; ++row)
            {
                Assert.AreEqual(StopReason.Callback, generation.GetStopReason(row));
                int[] ids = generation.GetIds(row);
                CollectionAssert.AreEqual(full.GetIds(row).Take(ids.Length).ToArray(), ids);
                total += ids.Length;
            }
            Assert.AreEqual(4, total);
            // A callback that throws stops the generation too, and its exception comes out.
            Assert.Throws<InvalidTimeZoneException>(() => context.Generate(Prompts, Greedy(16), e => { throw new InvalidTimeZoneException(); }));
            CollectionAssert.AreEqual(full.GetIds(2), context.Generate(Prompts, Greedy(16)).GetIds(2));
        }

        [Test]
        public void EndingTheEnumerationEarlyStopsTheGeneration()
        {
            List<TokenEvent> firstThree = context.Stream(new[] { Prompts[1] }, Greedy(16)).Take(3).ToList();
            Assert.AreEqual(3, firstThree.Count);
            Generation full = context.Generate(new[] { Prompts[1] }, Greedy(16));
            Assert.AreEqual(16, full.GetIds(0).Length);
            CollectionAssert.AreEqual(full.GetIds(0).Take(3).ToArray(), Ids(firstThree));

            // A later call ends an enumeration in progress: it says so instead of reading another's events.
            using (IEnumerator<TokenEvent> stale = context.Stream(new[] { Prompts[1] }, Greedy(16)).GetEnumerator())
            {
                Assert.IsTrue(stale.MoveNext());
                context.Generate(new[] { Prompts[0] }, Greedy(2));
                Assert.Throws<InvalidOperationException>(() => stale.MoveNext());
            }
        }

        [Test]
        public void CancellationStopsTheGenerationAndThrows()
        {
            using (var cancellation = new CancellationTokenSource())
            {
                var seen = new List<TokenEvent>();
                Assert.Throws<OperationCanceledException>(() =>
                {
                    foreach (TokenEvent e in context.Stream(Prompts, Greedy(16), null, cancellation.Token))
                    {
                        seen.Add(e);
                        if (seen.Count == 5)
                            cancellation.Cancel();
                    }
                });
                Assert.AreEqual(5, seen.Count);

                var counted = 0;
                Assert.Throws<OperationCanceledException>(() => context.Generate(Prompts, Greedy(16), e => ++counted > 0, null,
                                                                                 cancellation.Token));
                Assert.AreEqual(0, counted, "a token cancelled before the call generates nothing");
            }
            using (var cancellation = new CancellationTokenSource())
            {
                var counted = 0;
                Assert.Throws<OperationCanceledException>(() => context.Generate(Prompts, Greedy(16), e =>
                {
                    if (++counted == 2)
                        cancellation.Cancel();
                    return true;
                }, null, cancellation.Token));
                Assert.AreEqual(2, counted);
            }
            Assert.AreEqual(16, context.Generate(new[] { Prompts[0] }, Greedy(16)).GetIds(0).Length, "the context goes on");
        }

        [Test]
        public void StopIdsAndStopStringsEndARowWhereTheyFirstOccur()
        {
            List<TokenEvent> events = context.Stream(new[] { Prompts[0] }, Greedy(24)).ToList();
            int[] ids = Ids(events);
            int stopId = ids[5];
            int first = Array.IndexOf(ids, stopId);
            GenerateOptions byIdOptions = Greedy(24);
            byIdOptions.StopIds = new[] { stopId };
            Generation byId = context.Generate(new[] { Prompts[0] }, byIdOptions);
            CollectionAssert.AreEqual(ids.Take(first + 1).ToArray(), byId.GetIds(0));
            Assert.AreEqual(StopReason.Eos, byId.GetStopReason(0));

            // The stop string: the last character of the first non-empty piece after the third token.
            int k = 3;
            while (events[k].Text.Length == 0)
                ++k;
            string piece = events[k].Text;
            string stop = char.IsLowSurrogate(piece[piece.Length - 1]) ? piece.Substring(piece.Length - 2) : piece.Substring(piece.Length - 1);
            var text = new StringBuilder();
            int end = 0;
            while (!text.Append(events[end].Text).ToString().Contains(stop))
                ++end;
            GenerateOptions byStringOptions = Greedy(24);
            byStringOptions.StopStrings = new[] { stop };
            Generation byString = context.Generate(new[] { Prompts[0] }, byStringOptions);
            CollectionAssert.AreEqual(ids.Take(end + 1).ToArray(), byString.GetIds(0), "stop string \"" + stop + "\"");
            Assert.AreEqual(StopReason.StopString, byString.GetStopReason(0));
            // Any number of stop strings cross: the one that matters comes last of 70.
            byStringOptions.StopStrings = Enumerable.Range(0, 69).Select(i => "never generated " + i).Concat(new[] { stop }).ToArray();
            CollectionAssert.AreEqual(byString.GetIds(0), context.Generate(new[] { Prompts[0] }, byStringOptions).GetIds(0));
            CollectionAssert.AreEqual(new[] { 2 }, model.GetEosIds()); // config.json's eos_token_id
        }

        private static double[] LogSoftmax(float[] logits, int row, int vocab)
        {
            double max = double.NegativeInfinity;
            for (int v = 0; v < vocab; ++v)
                max = Math.Max(max, logits[row * vocab + v]);
            double sum = 0;
            for (int v = 0; v < vocab; ++v)
                sum += Math.Exp(logits[row * vocab + v] - max);
            var output = new double[vocab];
            for (int v = 0; v < vocab; ++v)
                output[v] = logits[row * vocab + v] - max - Math.Log(sum);
            return output;
        }

        [Test]
        public void ScoresAreTheLogSoftmaxOfPrefillAndDecode()
        {
            int vocab = (int)model.VocabSize;
            int[][] continuations = { new[] { 7 }, new[] { 200 }, new[] { 3, 90 } };
            float[] scores = context.Score(Prompts, continuations);
            float[] logits = context.Prefill(Prompts);
            for (int row = 0; row < 2; ++row)
            {
                Assert.IsTrue(!float.IsNaN(scores[row]) && !float.IsInfinity(scores[row]) && scores[row] < 0);
                Assert.AreEqual(LogSoftmax(logits, row, vocab)[continuations[row][0]], scores[row], 1e-4, "row " + row);
            }
            // Two tokens: the second is scored after the first, which Decode appends.
            double expected = LogSoftmax(context.Prefill(new[] { Prompts[2] }), 0, vocab)[3];
            expected += LogSoftmax(context.Decode(new[] { 3 }), 0, vocab)[90];
            Assert.AreEqual(expected, scores[2], 1e-4);
            // Text: the prompt with the tokenizer's default special tokens (none for gpt2), the continuation after it.
            CollectionAssert.AreEqual(context.Score(new[] { new[] { 48, 89 } }, new[] { new[] { 0 } }),
                                      context.Score(new[] { "Qz" }, new[] { "!" }));
        }

        [Test]
        public void TextPromptsAreEncodedByTheModelsTokenizer()
        {
            CollectionAssert.AreEqual(context.Generate(new[] { Prompts[0] }, Greedy(8)).GetIds(0),
                                      context.Generate(new[] { "Qz!Zq" }, Greedy(8)).GetIds(0));
            Assert.AreEqual(8, context.Stream("Qz!Zq", Greedy(8)).Count());
        }

        [Test]
        public void LogitsProcessorsFollowTheirDefinitions()
        {
            float[] logits = { 2f, -2f, 1f, 0.5f };
            LogitsProcessor.Process(new GenerateOptions { RepetitionPenalty = 2f }, new[] { 0, 1 }, logits);
            CollectionAssert.AreEqual(new[] { 1f, -4f, 1f, 0.5f }, logits); // positive / 2, negative * 2
            float[] sampled = { 2f, -2f, 1f, 0.5f };
            LogitsProcessor.Process(new GenerateOptions { DoSample = true, TopK = 2, Temperature = 0.5f }, null, sampled);
            CollectionAssert.AreEqual(new[] { 4f, float.NegativeInfinity, 2f, float.NegativeInfinity }, sampled);
            var error = Assert.Throws<SoftPromptException>(() => LogitsProcessor.Process(new GenerateOptions(), new[] { 4 }, logits));
            Assert.AreEqual(Status.OutOfRange, error.Status);
        }

        [Test]
        public void APromptTuningAdapterChangesTheTokens()
        {
            using (Adapter adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 8, Seed = 3 }))
            using (Context tuned = Context.Create(model, adapter))
            {
                int[] baseIds = context.Generate(new[] { Prompts[0] }, Greedy(16)).GetIds(0);
                CollectionAssert.AreNotEqual(baseIds, tuned.Generate(new[] { Prompts[0] }, Greedy(16)).GetIds(0));
                Assert.AreSame(adapter, tuned.Adapter);
            }
        }

        private static void AssertStatus(Status status, TestDelegate call)
        {
            Assert.AreEqual(status, Assert.Throws<SoftPromptException>(call).Status);
        }

        [Test]
        public void ErrorsAreThrownWithTheLibrarysStatus()
        {
            AssertStatus(Status.InvalidArgument, () => context.Generate(new[] { new int[0] }, Greedy(4)));
            AssertStatus(Status.InvalidArgument, () => context.Generate(new int[0][], Greedy(4)));
            AssertStatus(Status.OutOfRange, () => context.Generate(new[] { new[] { 5, 256 } }, Greedy(4)));
            AssertStatus(Status.OutOfRange, () => context.Generate(new[] { new[] { 5, -1 } }, Greedy(4)));
            AssertStatus(Status.OutOfRange, () => context.Generate(new[] { new[] { 5 } }, Greedy(96)));
            AssertStatus(Status.OutOfRange, () => context.Generate(new[] { new[] { 1 }, new[] { 2 }, new[] { 3 }, new[] { 4 }, new[] { 5 } }, Greedy(4)));
            AssertStatus(Status.InvalidArgument, () => context.Generate(new[] { new[] { 5 } }, Greedy(0)));
            AssertStatus(Status.OutOfRange, () => context.Stream(new[] { new[] { 5, 256 } }, Greedy(4)).ToList());
            AssertStatus(Status.OutOfRange, () => context.Score(new[] { new[] { 5 } }, new[] { new[] { 300 } }));
            AssertStatus(Status.ShapeMismatch, () => context.Score(new[] { new[] { 5 }, new[] { 6 } }, new[] { new[] { 7 } }));
            AssertStatus(Status.ShapeMismatch, () => context.Generate(new[] { new[] { 5 }, new[] { 6 } }, Greedy(4), null, new[] { 0 }));
            AssertStatus(Status.OutOfRange, () => context.Prefill(new[] { new[] { 5, 256 } }));
            context.Reset();
            AssertStatus(Status.InvalidArgument, () => context.Decode(new[] { 5 }));
            GenerateOptions withNul = Greedy(4);
            withNul.StopStrings = new[] { "a\0b" };
            Assert.Throws<ArgumentException>(() => context.Generate(new[] { new[] { 5 } }, withNul));
            Assert.Throws<ArgumentNullException>(() => context.Generate((int[][])null, Greedy(4)));

            Context disposed = Context.Create(model, null, new ContextOptions { MaxLength = 16 });
            IEnumerator<TokenEvent> open = disposed.Stream(new[] { new[] { 5 } }, Greedy(4)).GetEnumerator();
            Assert.IsTrue(open.MoveNext());
            disposed.Dispose();
            disposed.Dispose();
            Assert.IsTrue(disposed.IsDisposed);
            Assert.Throws<ObjectDisposedException>(() => disposed.Generate(new[] { new[] { 5 } }, Greedy(4)));
            Assert.Throws<ObjectDisposedException>(() => disposed.Score(new[] { new[] { 5 } }, new[] { new[] { 6 } }));
            Assert.Throws<ObjectDisposedException>(() => disposed.Generate(new[] { "a" }, Greedy(4)));
            Assert.Throws<ObjectDisposedException>(() => open.MoveNext());
            open.Dispose(); // never throws
        }

        [Test]
        public void AContextOutlivesItsModelAndAdapterObjects()
        {
            Model own = Model.Open(TestData.GenerationModelFolder);
            Adapter adapter = Adapter.Create(own, new AdapterOptions { NumVirtualTokens = 4, Seed = 9 });
            using (Context tuned = Context.Create(own, adapter))
            {
                int[] before = tuned.Generate(new[] { Prompts[2] }, Greedy(8)).GetIds(0);
                adapter.Dispose();
                own.Dispose();
                CollectionAssert.AreEqual(before, tuned.Generate(new[] { Prompts[2] }, Greedy(8)).GetIds(0));
                Assert.AreEqual(8, tuned.Generate(new[] { "$" }, Greedy(8)).GetIds(0).Length);
            }
        }
    }
}
