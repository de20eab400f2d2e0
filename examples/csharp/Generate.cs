// Generate: stream a generation through the C# binding.
//
//   mono <build>/bindings/csharp/out/Generate.exe <model-folder> [prompt] [max-new-tokens] [--adapter FOLDER]
//
// Loads a model folder that has a tokenizer.json, optionally a PEFT adapter folder on it, creates a
// context and prints the greedy continuation of the prompt (default "Once upon a time") piece by
// piece as the tokens come, then a summary line on stderr. Ctrl+C cancels the generation (through
// a CancellationToken) and still prints the summary. Exits 1 on a library error.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Threading;
using SoftPrompt;

internal static class Generate
{
    private static int Main(string[] args)
    {
        var positional = new List<string>();
        string adapterFolder = null;
        for (int i = 0; i < args.Length; ++i)
        {
            if (args[i] == "--adapter" && i + 1 < args.Length)
                adapterFolder = args[++i];
            else
                positional.Add(args[i]);
        }
        if (positional.Count < 1 || positional.Count > 3)
        {
            Console.Error.WriteLine("usage: Generate.exe <model-folder> [prompt] [max-new-tokens] [--adapter FOLDER]");
            return 2;
        }
        string prompt = positional.Count > 1 ? positional[1] : "Once upon a time";
        int maxNewTokens = positional.Count > 2 ? int.Parse(positional[2]) : 32;
        // The pieces are UTF-8 text whatever the console's default encoding.
        var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true };

        using (var cancellation = new CancellationTokenSource())
        {
            Console.CancelKeyPress += (sender, e) =>
            {
                e.Cancel = true; // keep running: the generation stops at its next token
                cancellation.Cancel();
            };
            try
            {
                using (Model model = Model.Open(positional[0]))
                using (Adapter adapter = adapterFolder == null ? null : Adapter.Load(model, adapterFolder))
                using (Context context = Context.Create(model, adapter, new ContextOptions { MaxLength = 512 }))
                {
                    var options = new GenerateOptions { MaxNewTokens = maxNewTokens };
                    int tokens = 0;
                    StopReason last = StopReason.None;
                    output.Write(prompt);
                    try
                    {
                        foreach (TokenEvent e in context.Stream(prompt, options, cancellation.Token))
                        {
                            output.Write(e.Text); // whole characters only: bytes of a split one come later
                            ++tokens;
                            last = e.StopReason;
                        }
                    }
                    catch (OperationCanceledException)
                    {
                        last = StopReason.Callback;
                    }
                    output.WriteLine();
                    Console.Error.WriteLine("{0} tokens, stopped by {1}", tokens, last);
                }
                return 0;
            }
            catch (SoftPromptException e)
            {
                Console.Error.WriteLine("Generate: " + e.Message);
                return 1;
            }
        }
    }
}
