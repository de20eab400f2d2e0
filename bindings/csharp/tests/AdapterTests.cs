// Adapters of every method: the options reach C field by field, and the tensors come back whole.
using System.Linq;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    [TestFixture]
    public class AdapterTests : SharedModelFixture
    {
        [Test]
        public void InfoReportsWhatTheOptionsAsked()
        {
            var options = new AdapterOptions
            {
                Method = Method.MultitaskPromptTuning, NumVirtualTokens = 7, NumTasks = 3, NumRanks = 2, Seed = 11
            };
            using (Adapter adapter = Adapter.Create(model, options))
            {
                AdapterInfo info = adapter.Info;
                Assert.AreEqual(Method.MultitaskPromptTuning, info.Method);
                Assert.AreEqual(7, info.NumVirtualTokens);
                Assert.AreEqual(3, info.NumTasks);
                Assert.AreSame(model, adapter.Model);
            }
        }

        [Test]
        public void PromptTableHasOneRowPerVirtualToken()
        {
            using (Adapter adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 5 }))
            {
                CollectionAssert.AreEqual(new[] { "embedding.weight" }, adapter.ParameterNames.ToArray());
                Assert.AreEqual(5 * 64, adapter.Parameter("embedding.weight").Length);
                Assert.AreEqual(5 * 64, adapter.Info.NumTrainableParameters);
            }
        }

        // Every method, including the fields late in sp_adapter_params (encoder type, projection,
        // tasks): the tensors' sizes add up to the count C reports, and the names are PEFT's.
        [TestCase(Method.PromptTuning, false, EncoderType.Mlp, 1, "embedding.weight")]
        [TestCase(Method.PrefixTuning, false, EncoderType.Mlp, 1, "embedding.weight")]
        [TestCase(Method.PrefixTuning, true, EncoderType.Mlp, 1, "transform.0.weight")]
        [TestCase(Method.PTuning, false, EncoderType.Mlp, 1, "mlp_head.0.weight")]
        [TestCase(Method.PTuning, false, EncoderType.Lstm, 1, "lstm_head.weight_ih_l0")]
        [TestCase(Method.MultitaskPromptTuning, false, EncoderType.Mlp, 2, "prefix_task_cols")]
        public void ParameterSizesAddUpToTheTrainableCount(Method method, bool projection, EncoderType encoder, int tasks,
                                                          string expectedName)
        {
            using (Adapter adapter = Adapter.Create(model, AdapterVariants.Options(method, projection, encoder, tasks)))
            {
                AdapterInfo info = adapter.Info;
                Assert.AreEqual(method, info.Method);
                var names = adapter.ParameterNames;
                Assert.AreEqual(info.NumParameterTensors, names.Count);
                CollectionAssert.Contains(names.ToArray(), expectedName);
                long total = names.Sum(name => (long)adapter.Parameter(name).Length);
                Assert.AreEqual(info.NumTrainableParameters, total);
            }
        }

        [Test]
        public void EncoderHiddenSizeChangesTheEncoder()
        {
            var narrow = new AdapterOptions { Method = Method.PTuning, NumVirtualTokens = 4, EncoderHiddenSize = 16 };
            var wide = new AdapterOptions { Method = Method.PTuning, NumVirtualTokens = 4, EncoderHiddenSize = 32 };
            using (Adapter a = Adapter.Create(model, narrow))
            using (Adapter b = Adapter.Create(model, wide))
                Assert.Less(a.Info.NumTrainableParameters, b.Info.NumTrainableParameters);
        }

        [Test]
        public void TextInitUsesTheGivenTokenIds()
        {
            using (Adapter a = Adapter.Create(model, Text(5, 6, 7)))
            using (Adapter b = Adapter.Create(model, Text(5, 6, 7)))
            using (Adapter c = Adapter.Create(model, Text(5, 6, 8)))
            {
                float[] ta = a.Parameter("embedding.weight"), tb = b.Parameter("embedding.weight"),
                        tc = c.Parameter("embedding.weight");
                Floats.AssertEqual(ta, tb, "same ids, same table");
                // Rows 0 and 1 come from ids 5 and 6 in both; row 2 from 7 versus 8.
                Assert.AreEqual(0.0, Floats.MaxAbsDiff(ta.Take(128).ToArray(), tc.Take(128).ToArray()));
                Assert.Greater(Floats.MaxAbsDiff(ta.Skip(128).ToArray(), tc.Skip(128).ToArray()), 0.0);
            }
        }

        private static AdapterOptions Text(params int[] ids)
        {
            return new AdapterOptions { NumVirtualTokens = 3, Init = PromptInit.Text, InitTokenIds = ids, InitText = "a b c" };
        }

        [Test]
        public void SameSeedSameTableOtherSeedOtherTable()
        {
            using (Adapter a = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 4, Seed = 3 }))
            using (Adapter b = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 4, Seed = 3 }))
            using (Adapter c = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 4, Seed = 4 }))
            {
                Floats.AssertEqual(a.Parameter("embedding.weight"), b.Parameter("embedding.weight"), "seed 3 twice");
                Assert.Greater(Floats.MaxAbsDiff(a.Parameter("embedding.weight"), c.Parameter("embedding.weight")), 1e-3);
            }
        }
    }
}
