// Per-tensor shapes (sp_adapter_parameter_shape) and the adapter's vocabulary size. The expected
// shapes follow from how PyTorch and PEFT define the tensors, not from the library: an nn.LSTM's
// weight_ih_l0 is (4 * hidden_size, input_size), PEFT's MPT column factors are
// (num_tasks, num_virtual_tokens, num_ranks).
using System.Linq;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    [TestFixture]
    public class ParameterShapeTests : SharedModelFixture
    {
        private const long Hidden = 64; // the tiny llama's hidden size (tests/make_models.cmake)

        // Every tensor of every method: the product of its dimensions is its element count.
        [TestCaseSource(typeof(AdapterVariants), "All")]
        public void ShapeProductIsTheParameterSize(Method method, bool projection, EncoderType encoder, int tasks)
        {
            using (Adapter adapter = Adapter.Create(model, AdapterVariants.Options(method, projection, encoder, tasks)))
            {
                long total = 0;
                foreach (string name in adapter.ParameterNames)
                {
                    long[] shape = adapter.ParameterShape(name);
                    Assert.GreaterOrEqual(shape.Length, 1, name);
                    Assert.IsTrue(shape.All(dim => dim > 0), name + " has a dimension <= 0");
                    long product = shape.Aggregate(1L, (p, dim) => p * dim);
                    Assert.AreEqual(adapter.Parameter(name).Length, product, name);
                    total += product;
                }
                Assert.AreEqual(adapter.Info.NumTrainableParameters, total);
            }
        }

        [Test]
        public void LstmInputWeightsAreFourGatesByInput()
        {
            const long encoderHidden = 24;
            var options = new AdapterOptions
            {
                Method = Method.PTuning, EncoderType = EncoderType.Lstm, EncoderHiddenSize = (int)encoderHidden,
                NumVirtualTokens = 8
            };
            using (Adapter adapter = Adapter.Create(model, options))
            {
                CollectionAssert.AreEqual(new[] { 4 * encoderHidden, Hidden }, adapter.ParameterShape("lstm_head.weight_ih_l0"));
                CollectionAssert.AreEqual(new[] { 4 * encoderHidden, encoderHidden },
                                          adapter.ParameterShape("lstm_head.weight_hh_l0"));
                // The second layer reads both directions of the first.
                CollectionAssert.AreEqual(new[] { 4 * encoderHidden, 2 * encoderHidden },
                                          adapter.ParameterShape("lstm_head.weight_ih_l1"));
                CollectionAssert.AreEqual(new[] { 4 * encoderHidden }, adapter.ParameterShape("lstm_head.bias_ih_l0"));
            }
        }

        [Test]
        public void MptTaskColumnsAreTasksByTokensByRanks()
        {
            var options = new AdapterOptions
            {
                Method = Method.MultitaskPromptTuning, NumTasks = 3, NumVirtualTokens = 5, NumRanks = 2
            };
            using (Adapter adapter = Adapter.Create(model, options))
            {
                CollectionAssert.AreEqual(new long[] { 3, 5, 2 }, adapter.ParameterShape("prefix_task_cols"));
                CollectionAssert.AreEqual(new long[] { 3, 2, Hidden }, adapter.ParameterShape("prefix_task_rows"));
                CollectionAssert.AreEqual(new long[] { 5, Hidden }, adapter.ParameterShape("embedding.weight"));
            }
        }

        [Test]
        public void UnknownNameIsNotFound()
        {
            using (Adapter adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 4 }))
            {
                var error = Assert.Throws<SoftPromptException>(() => adapter.ParameterShape("no.such.tensor"));
                Assert.AreEqual(Status.NotFound, error.Status);
                StringAssert.Contains("no.such.tensor", error.NativeMessage);
                // The adapter is still usable afterwards.
                CollectionAssert.AreEqual(new long[] { 4, Hidden }, adapter.ParameterShape("embedding.weight"));
            }
        }

        [TestCase(Method.PromptTuning, false, EncoderType.Mlp, 1)]
        [TestCase(Method.PrefixTuning, true, EncoderType.Mlp, 1)]
        [TestCase(Method.PTuning, false, EncoderType.Lstm, 1)]
        [TestCase(Method.MultitaskPromptTuning, false, EncoderType.Mlp, 2)]
        public void VocabSizeIsTheModels(Method method, bool projection, EncoderType encoder, int tasks)
        {
            Assert.AreEqual(256, model.Info.VocabSize); // tests/make_models.cmake
            using (Adapter adapter = Adapter.Create(model, AdapterVariants.Options(method, projection, encoder, tasks)))
                Assert.AreEqual(model.Info.VocabSize, adapter.Info.VocabSize);
        }
    }
}
