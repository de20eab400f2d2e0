// Through C#, a tokenizer gives the ids and texts that Hugging Face `tokenizers` gives for the same
// tokenizer.json (byte-level BPE, SentencePiece BPE with byte fallback, WordPiece, Unigram), on
// non-ASCII text, text holding U+0000 and the empty text.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    [TestFixture]
    public class TokenizerTests
    {
        // The non-ASCII text of the fixture (Cyrillic, CJK, emoji with a modifier and a ZWJ sequence).
        private const string Mixed = "Привет, мир! 你好，世界。 Emoji: 👋🏽 👨\u200d👩\u200d👧\u200d👦 ✨";

        private TokenizerReference reference;
        private readonly Dictionary<string, Tokenizer> tokenizers = new Dictionary<string, Tokenizer>();

        [TestFixtureSetUp]
        public void LoadTokenizers()
        {
            reference = TokenizerReference.Get();
            foreach (TokenizerFamily family in reference.All)
                tokenizers[family.Name] = Tokenizer.Load(family.Path);
        }

        [TestFixtureTearDown]
        public void DisposeTokenizers()
        {
            foreach (Tokenizer tokenizer in tokenizers.Values)
                tokenizer.Dispose();
        }

        [Test]
        public void EncodeGivesTheIdsOfTokenizers()
        {
            foreach (TokenizerFamily family in reference.All)
            {
                Tokenizer tokenizer = tokenizers[family.Name];
                foreach (TokenizerText text in family.Texts)
                {
                    string where = family.Name + " \"" + text.Text + "\"";
                    CollectionAssert.AreEqual(text.WithSpecial, tokenizer.Encode(text.Text, true), where + " with special tokens");
                    CollectionAssert.AreEqual(text.WithoutSpecial, tokenizer.Encode(text.Text, false), where + " without");
                }
            }
            Assert.IsNotEmpty(reference.Family("gpt2").Text(Mixed).WithoutSpecial);
        }

        /// <summary>
        /// Both decodes equal tokenizers' decode of the ids with special tokens; the last text's
        /// decode is 1300 bytes for 100 ids, beyond the first buffer (8 bytes per id + 64), so it
        /// takes the second call.
        /// </summary>
        [Test]
        public void DecodeGivesTheTextOfTokenizers()
        {
            foreach (TokenizerFamily family in reference.All)
            {
                Tokenizer tokenizer = tokenizers[family.Name];
                foreach (TokenizerText text in family.Texts)
                {
                    string where = family.Name + " \"" + text.Text + "\"";
                    Assert.AreEqual(text.Decoded, tokenizer.Decode(text.WithSpecial, false), where);
                    Assert.AreEqual(text.DecodedSkipping, tokenizer.Decode(text.WithSpecial, true), where + " skipping special tokens");
                }
            }
            string specials = string.Concat(Enumerable.Repeat("<|endoftext|>", 100));
            int[] ids = reference.Family("gpt2").Text(specials).WithSpecial;
            Assert.AreEqual(1300, Encoding.UTF8.GetByteCount(tokenizers["gpt2"].Decode(ids, false)));
        }

        /// <summary>Byte-level BPE loses nothing: every text comes back exactly, U+0000 and emoji included.</summary>
        [Test]
        public void ByteLevelDecodeRoundTrips()
        {
            Tokenizer gpt2 = tokenizers["gpt2"];
            foreach (TokenizerText text in reference.Family("gpt2").Texts)
                Assert.AreEqual(text.Text, gpt2.Decode(gpt2.Encode(text.Text, false), false));
        }

        /// <summary>
        /// BERT's post-processor puts [CLS] before and [SEP] after the text's ids (its template,
        /// written out here); T5's appends its eos. Skipping special tokens in decode drops them.
        /// </summary>
        [Test]
        public void SpecialTokensOnAndOff()
        {
            Tokenizer bert = tokenizers["bert"];
            int[] plain = bert.Encode(Mixed, false);
            int[] expected = new[] { bert.TokenToId("[CLS]") }.Concat(plain).Concat(new[] { bert.TokenToId("[SEP]") }).ToArray();
            int[] special = bert.Encode(Mixed, true);
            CollectionAssert.AreEqual(expected, special);
            StringAssert.StartsWith("[CLS] ", bert.Decode(special, false));
            StringAssert.DoesNotContain("[CLS]", bert.Decode(special, true));
            Tokenizer t5 = tokenizers["t5"];
            int[] t5Plain = t5.Encode(Mixed, false);
            CollectionAssert.AreEqual(t5Plain.Concat(new[] { t5.Info.EosId }).ToArray(), t5.Encode(Mixed, true));
        }

        [Test]
        public void InfoGivesTheVocabularySizeAndSpecialIds()
        {
            foreach (TokenizerFamily family in reference.All)
            {
                TokenizerInfo info = tokenizers[family.Name].Info;
                Assert.AreEqual(family.VocabSize, info.VocabSize, family.Name);
                Assert.AreEqual(family.Bos, info.BosId, family.Name + " bos");
                Assert.AreEqual(family.Eos, info.EosId, family.Name + " eos");
                Assert.AreEqual(family.Pad, info.PadId, family.Name + " pad");
                Assert.AreEqual(family.Unk, info.UnkId, family.Name + " unk");
            }
        }

        [Test]
        public void IdsAndTokensMapBothWays()
        {
            foreach (TokenizerFamily family in reference.All)
            {
                Tokenizer tokenizer = tokenizers[family.Name];
                Assert.IsNotEmpty(family.Tokens, family.Name);
                foreach (KeyValuePair<int, string> token in family.Tokens)
                {
                    Assert.AreEqual(token.Value, tokenizer.IdToToken(token.Key), family.Name + " id " + token.Key);
                    int back = family.TokenIds[token.Key];
                    if (back >= 0)
                        Assert.AreEqual(back, tokenizer.TokenToId(token.Value), family.Name + " \"" + token.Value + "\"");
                    else
                        Assert.AreEqual(Status.NotFound, Assert.Throws<SoftPromptException>(() => tokenizer.TokenToId(token.Value)).Status);
                }
            }
        }

        [Test]
        public void IdsOutsideTheVocabularyAreOutOfRange()
        {
            Tokenizer gpt2 = tokenizers["gpt2"];
            int size = (int)gpt2.Info.VocabSize;
            var error = Assert.Throws<SoftPromptException>(() => gpt2.Decode(new[] { 5, size }, false));
            Assert.AreEqual(Status.OutOfRange, error.Status);
            StringAssert.Contains(size.ToString(), error.NativeMessage);
            Assert.AreEqual(Status.OutOfRange, Assert.Throws<SoftPromptException>(() => gpt2.IdToToken(size)).Status);
            Assert.AreEqual(Status.OutOfRange, Assert.Throws<SoftPromptException>(() => gpt2.IdToToken(-1)).Status);
            Assert.AreEqual(Status.NotFound, Assert.Throws<SoftPromptException>(() => gpt2.TokenToId("no such token \u2603")).Status);
            // The tokenizer is still usable after its errors.
            CollectionAssert.AreEqual(reference.Family("gpt2").Text(Mixed).WithoutSpecial, gpt2.Encode(Mixed, false));
        }

        /// <summary>
        /// A lone surrogate has no UTF-8 form: the binding replaces it with U+FFFD, so the ids are
        /// those tokenizers gives for the text with U+FFFD in its place (a high and a low surrogate alone).
        /// </summary>
        [Test]
        public void LoneSurrogatesEncodeAsTheReplacementCharacter()
        {
            foreach (TokenizerFamily family in reference.All)
            {
                int[] expected = family.Text("lone \uFFFD here").WithSpecial;
                Tokenizer tokenizer = tokenizers[family.Name];
                CollectionAssert.AreEqual(expected, tokenizer.Encode("lone \uD83D here", true), family.Name);
                CollectionAssert.AreEqual(expected, tokenizer.Encode("lone \uDE00 here", true), family.Name);
            }
        }

        [Test]
        public void DisposedTokenizerThrows()
        {
            Tokenizer tokenizer = Tokenizer.Load(reference.Family("gpt2").Path);
            tokenizer.Dispose();
            tokenizer.Dispose(); // idempotent
            Assert.IsTrue(tokenizer.IsDisposed);
            var error = Assert.Throws<ObjectDisposedException>(() => tokenizer.Encode("x", true));
            StringAssert.Contains("tokenizer was disposed", error.Message);
            Assert.Throws<ObjectDisposedException>(() => tokenizer.Decode(new[] { 1 }, false));
            Assert.Throws<ObjectDisposedException>(() => tokenizer.IdToToken(1));
            Assert.Throws<ObjectDisposedException>(() => tokenizer.TokenToId("x"));
            Assert.Throws<ObjectDisposedException>(() => { var unused = tokenizer.Info; });
        }

        [Test]
        public void MissingFileIsNotFound()
        {
            string missing = TestData.NewScratchFolder("tokenizer") + "/no_such_tokenizer.json";
            Assert.AreEqual(Status.NotFound, Assert.Throws<SoftPromptException>(() => Tokenizer.Load(missing)).Status);
        }

        /// <summary>
        /// A model whose folder holds tokenizer.json hands out that tokenizer, which outlives the
        /// model; the test model without one reports NotFound.
        /// </summary>
        [Test]
        public void ModelGivesItsFoldersTokenizer()
        {
            Tokenizer tokenizer;
            using (Model model = Model.Open(reference.ModelWithTokenizer))
                tokenizer = model.GetTokenizer();
            using (tokenizer)
                CollectionAssert.AreEqual(reference.Family(reference.ModelTokenizer).Text(Mixed).WithSpecial,
                                          tokenizer.Encode(Mixed, true));
            using (Model model = Model.Open(TestData.LlamaFolder))
                Assert.AreEqual(Status.NotFound, Assert.Throws<SoftPromptException>(() => model.GetTokenizer()).Status);
        }

        /// <summary>One tokenizer, eight threads at once: every result is the single-threaded one.</summary>
        [Test]
        public void ThreadsShareOneTokenizer()
        {
            Tokenizer gpt2 = tokenizers["gpt2"];
            int[] expected = reference.Family("gpt2").Text(Mixed).WithSpecial;
            int wrong = 0;
            var threads = Enumerable.Range(0, 8).Select(_ => new Thread(() =>
            {
                for (int i = 0; i < 200; ++i)
                {
                    try
                    {
                        if (!expected.SequenceEqual(gpt2.Encode(Mixed, true)) || gpt2.Decode(expected, true) != Mixed)
                            Interlocked.Increment(ref wrong);
                    }
                    catch (SoftPromptException) // an exception would end the process on this thread
                    {
                        Interlocked.Increment(ref wrong);
                    }
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            Assert.AreEqual(0, wrong);
        }
    }
}
