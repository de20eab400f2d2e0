// What Hugging Face `tokenizers` gave for the binding tests' texts: the records of
// tests/reference/tokenizer_binding_reference.py's expected.tsv (ctest fixture
// "tokenizer_binding_reference"; SP_TOKENIZER_EXPECTED names the file).
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    /// <summary>One tokenizer.json of the conformance fixture and what tokenizers gives with it.</summary>
    internal sealed class TokenizerFamily
    {
        internal string Name;
        internal string Path; // the folder with tokenizer.json (and the files with its special tokens)
        internal long VocabSize;
        internal int Bos, Eos, Pad, Unk;
        internal readonly List<TokenizerText> Texts = new List<TokenizerText>();
        internal readonly Dictionary<int, string> Tokens = new Dictionary<int, string>(); // id -> id_to_token(id)
        internal readonly Dictionary<int, int> TokenIds = new Dictionary<int, int>();     // id -> token_to_id(that), -1: none

        /// <summary>The record of <paramref name="text"/> (which the fixture must have).</summary>
        internal TokenizerText Text(string text)
        {
            TokenizerText found = Texts.FirstOrDefault(t => t.Text == text);
            if (found == null)
                Assert.Fail("expected.tsv has no record of {0} for \"{1}\"", Name, text);
            return found;
        }
    }

    /// <summary>One text: the ids of encode with and without special tokens, and the two decodes.</summary>
    internal sealed class TokenizerText
    {
        internal string Text;
        internal int[] WithSpecial;
        internal int[] WithoutSpecial;
        internal string Decoded;         // decode(WithSpecial, skip_special_tokens=False)
        internal string DecodedSkipping; // decode(WithSpecial, skip_special_tokens=True)
    }

    internal sealed class TokenizerReference
    {
        internal readonly Dictionary<string, TokenizerFamily> Families = new Dictionary<string, TokenizerFamily>();
        internal readonly List<string> Order = new List<string>();
        internal string ModelWithTokenizer; // the tiny llama model folder with the gpt2 tokenizer.json
        internal string ModelTokenizer;     // "gpt2"

        private static TokenizerReference loaded;

        internal static TokenizerReference Get()
        {
            if (loaded == null)
            {
                string file = Environment.GetEnvironmentVariable("SP_TOKENIZER_EXPECTED");
                if (string.IsNullOrEmpty(file))
                    Assert.Fail("SP_TOKENIZER_EXPECTED is not set; run the suite through ctest (ctest -R csharp_tests)");
                loaded = Read(file);
            }
            return loaded;
        }

        internal IEnumerable<TokenizerFamily> All
        {
            get { return Order.Select(Family); }
        }

        internal TokenizerFamily Family(string name)
        {
            TokenizerFamily family;
            if (!Families.TryGetValue(name, out family))
                Assert.Fail("expected.tsv has no tokenizer " + name);
            return family;
        }

        private static TokenizerReference Read(string file)
        {
            var reference = new TokenizerReference();
            foreach (string line in File.ReadAllLines(file, Encoding.UTF8))
            {
                string[] f = line.Split('\t');
                switch (f[0])
                {
                    case "tokenizer":
                        reference.Families[f[1]] = new TokenizerFamily
                        {
                            Name = f[1], Path = f[2], VocabSize = long.Parse(f[3]), Bos = int.Parse(f[4]),
                            Eos = int.Parse(f[5]), Pad = int.Parse(f[6]), Unk = int.Parse(f[7])
                        };
                        reference.Order.Add(f[1]);
                        break;
                    case "text":
                        reference.Family(f[1]).Texts.Add(new TokenizerText
                        {
                            Text = Unhex(f[2]), WithSpecial = Ids(f[3]), WithoutSpecial = Ids(f[4]),
                            Decoded = Unhex(f[5]), DecodedSkipping = Unhex(f[6])
                        });
                        break;
                    case "token":
                        reference.Family(f[1]).Tokens[int.Parse(f[2])] = Unhex(f[3]);
                        reference.Family(f[1]).TokenIds[int.Parse(f[2])] = int.Parse(f[4]);
                        break;
                    case "model":
                        reference.ModelWithTokenizer = f[1];
                        reference.ModelTokenizer = f[2];
                        break;
                    default:
                        Assert.Fail("unknown record in {0}: {1}", file, f[0]);
                        break;
                }
            }
            return reference;
        }

        private static int[] Ids(string list)
        {
            return list.Length == 0 ? new int[0] : list.Split(',').Select(int.Parse).ToArray();
        }

        private static string Unhex(string hex)
        {
            var bytes = new byte[hex.Length / 2];
            for (int i = 0; i < bytes.Length; ++i)
                bytes[i] = Convert.ToByte(hex.Substring(2 * i, 2), 16);
            return new UTF8Encoding(false, true).GetString(bytes);
        }
    }
}
