// A GGUF file opens like a folder: SmolLM2-135M-Instruct's Q4_1 file (the gguf_models fixture links
// it), its tokenizer from the file's metadata and its chat template. The expected ids and text are
// transformers' (AutoTokenizer.from_pretrained(..., gguf_file=...) and apply_chat_template).
using System;
using System.IO;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    [TestFixture]
    public class GgufTests
    {
        [Test]
        public void Smollm2GgufOpensWithItsTokenizerAndChatTemplate()
        {
            string folder = Environment.GetEnvironmentVariable("SP_GGUF_MODELS") ?? "";
            string path = Path.Combine(folder, "smollm2.gguf");
            if (folder.Length == 0 || !File.Exists(path))
                Assert.Ignore("the gguf_models fixture's smollm2.gguf is not available");
            using (Model model = Model.Open(path))
            using (Tokenizer tokenizer = model.GetTokenizer())
            {
                ModelInfo info = model.Info;
                Assert.AreEqual("llama", info.ModelType);
                Assert.AreEqual(30, info.NumLayers);
                Assert.AreEqual(576, info.HiddenSize);
                Assert.AreEqual(49152, info.VocabSize);
                Assert.AreEqual(new[] { 504, 3575, 282, 4649, 314 }, tokenizer.Encode("The capital of France is", true));
                Assert.AreEqual("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face" +
                                    "<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
                                tokenizer.ApplyChatTemplate(new[] { new ChatMessage("user", "Hi") }, true));
            }
        }
    }
}
