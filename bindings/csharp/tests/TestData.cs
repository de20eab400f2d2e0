// Where the suite finds its inputs (ctest sets the variables; see bindings/csharp/CMakeLists.txt)
// and the small fixed inputs several tests share.
using System;
using System.IO;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    internal static class TestData
    {
        /// <summary>The tiny random llama written by the `models` fixture (vocab 256, hidden 64, 2 layers).</summary>
        internal static string LlamaFolder
        {
            get { return Path.Combine(Variable("SP_TEST_MODELS"), "llama"); }
        }

        /// <summary>
        /// The tiny llama with a byte-level tokenizer (the `tokenizer_binding_reference` fixture; model
        /// vocabulary 256, tokenizer vocabulary 50257).
        /// </summary>
        internal static string GenerationModelFolder
        {
            get { return Variable("SP_GENERATION_MODEL"); }
        }

        /// <summary>What the C API returned on the reference input (the `binding_reference` fixture).</summary>
        internal static string ReferenceFolder
        {
            get { return Variable("SP_BINDING_REFERENCE"); }
        }

        /// <summary>
        /// What tests/reference/encoder_reference.py wrote (the `encoder_reference` fixture): the tiny
        /// BERT and RoBERTa under models/, transformers' and PEFT's outputs under bert/ and roberta/.
        /// </summary>
        internal static string EncoderReferenceFolder
        {
            get { return Variable("SP_ENCODER_REFERENCE"); }
        }

        /// <summary>
        /// What tests/reference/t5_reference.py wrote (the `t5_reference` fixture): the tiny T5 models
        /// under models/, transformers' and PEFT's outputs under t5/ and t5v11/.
        /// </summary>
        internal static string T5ReferenceFolder
        {
            get { return Variable("SP_T5_REFERENCE"); }
        }

        /// <summary>A new empty folder for one test's files.</summary>
        internal static string NewScratchFolder(string name)
        {
            string folder = Path.Combine(Variable("SP_CSHARP_SCRATCH"), name);
            if (Directory.Exists(folder))
                Directory.Delete(folder, true);
            Directory.CreateDirectory(folder);
            return folder;
        }

        /// <summary>A raw little-endian float32 file, as write_binding_reference writes them.</summary>
        internal static float[] ReadFloats(string path)
        {
            return ReadRaw<float>(path, "float32");
        }

        /// <summary>A raw little-endian int32 file.</summary>
        internal static int[] ReadInts(string path)
        {
            return ReadRaw<int>(path, "int32");
        }

        /// <summary>A raw little-endian file of 4-byte values.</summary>
        private static T[] ReadRaw<T>(string path, string type) where T : struct
        {
            Assert.IsTrue(BitConverter.IsLittleEndian, "the reference files are little-endian " + type);
            byte[] bytes = File.ReadAllBytes(path);
            Assert.AreEqual(0, bytes.Length % 4, path + " is not a " + type + " array");
            var values = new T[bytes.Length / 4];
            Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
            return values;
        }

        /// <summary>
        /// The training task of tests/c/test_training.c: 4 rows x 10 tokens from a fixed LCG, and
        /// task ids 0, 1, 0, 1 (read by multitask prompt tuning only).
        /// </summary>
        internal static Batch TrainingBatch()
        {
            const int rows = 4, seq = 10;
            var ids = new int[rows * seq];
            uint state = 99u;
            for (int i = 0; i < ids.Length; ++i)
            {
                state = unchecked(state * 1103515245u + 12345u);
                ids[i] = (int)(3 + (state >> 10) % 250u);
            }
            return new Batch(rows, seq, ids, taskIds: new[] { 0, 1, 0, 1 });
        }

        /// <summary>
        /// The input of tests/c/write_binding_reference.c: 2 rows x 6 tokens, ids 3..14, mask all 1
        /// except the last two tokens of row 1, no labels.
        /// </summary>
        internal static Batch ReferenceBatch()
        {
            var ids = new int[12];
            var mask = new int[12];
            for (int i = 0; i < 12; ++i)
            {
                ids[i] = 3 + i;
                mask[i] = i < 10 ? 1 : 0;
            }
            return new Batch(2, 6, ids, mask);
        }

        /// <summary>The adapter of write_binding_reference.c: prompt tuning, 4 virtual tokens, random init, seed 5.</summary>
        internal static AdapterOptions ReferenceAdapterOptions()
        {
            return new AdapterOptions { NumVirtualTokens = 4, Seed = 5 };
        }

        private static string Variable(string name)
        {
            string value = Environment.GetEnvironmentVariable(name);
            if (string.IsNullOrEmpty(value))
                Assert.Fail(name + " is not set; run the suite through ctest (ctest -R csharp_tests)");
            return value;
        }
    }

    /// <summary>
    /// Base of the fixtures whose tests share one tiny llama model (loaded once per fixture; NUnit
    /// runs these set-up and tear-down methods for every derived fixture).
    /// </summary>
    public abstract class SharedModelFixture
    {
        protected Model model;

        [TestFixtureSetUp]
        public void OpenSharedModel()
        {
            model = Model.Open(TestData.LlamaFolder);
        }

        [TestFixtureTearDown]
        public void CloseSharedModel()
        {
            model.Dispose();
        }
    }

    /// <summary>The suites' one tolerance rule (tests/c/tolerance_rule.h), float32.</summary>
    internal static class ToleranceRule
    {
        /// <summary>
        /// tolerance_rule_forward_length: the reduction length of one transformer forward pass from plain
        /// sizes (keys: the attention's key count; encoderLength: what came before the blocks).
        /// </summary>
        internal static double ForwardLength(double layers, double hidden, double heads, double headDim,
                                             double intermediate, double keys, double encoderLength)
        {
            double perLayer = hidden * 4 + 2.0 * headDim + keys + heads * headDim + intermediate;
            return encoderLength + layers * perLayer + 2.0 * hidden;
        }

        /// <summary>|ours - reference| &lt;= 4 * 2^-24 * n * max|reference| for every element.</summary>
        internal static void AssertWithin(string what, float[] expected, float[] actual, double length)
        {
            Assert.AreEqual(expected.Length, actual.Length, what + ": length");
            double magnitude = 0;
            foreach (float value in expected)
                magnitude = Math.Max(magnitude, Math.Abs((double)value));
            double bound = 4.0 * Math.Pow(2, -24) * length * magnitude;
            for (int i = 0; i < expected.Length; ++i)
                Assert.LessOrEqual(Math.Abs((double)expected[i] - actual[i]), bound,
                                   string.Format("{0}[{1}]: {2:R} vs {3:R}", what, i, actual[i], expected[i]));
        }
    }

    /// <summary>Array comparisons with a useful message (first mismatch, and how many).</summary>
    internal static class Floats
    {
        /// <summary>Exact equality (tolerance 0): same length, and == for every element.</summary>
        internal static void AssertEqual(float[] expected, float[] actual, string what)
        {
            Assert.AreEqual(expected.Length, actual.Length, what + ": length");
            int mismatches = 0, first = -1;
            for (int i = 0; i < expected.Length; ++i)
            {
                if (expected[i] == actual[i])
                    continue;
                if (first < 0)
                    first = i;
                ++mismatches;
            }
            if (mismatches > 0)
                Assert.Fail("{0}: {1} of {2} values differ; first at [{3}]: expected {4:R}, got {5:R}", what, mismatches,
                            expected.Length, first, expected[first], actual[first]);
        }

        internal static double MaxAbsDiff(float[] a, float[] b)
        {
            Assert.AreEqual(a.Length, b.Length);
            double max = 0;
            for (int i = 0; i < a.Length; ++i)
                max = Math.Max(max, Math.Abs((double)a[i] - b[i]));
            return max;
        }
    }
}
