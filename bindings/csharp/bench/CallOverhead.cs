// CallOverhead: the C# side of the binding-overhead benchmark. Times the two calls of
// bench/bench_call_overhead.c through the idiomatic C# API; the difference to the C numbers is
// what the binding adds per call.
//   info    adapter.Info on a prompt-tuning adapter (4 virtual tokens): pure call cost
//   logits  adapter.Logits(batch, LogitsMode.Last, buffer), batch 1 x 8 tokens (ids 1..8), after
//           50 warm-up calls; the caller-owned buffer mirrors the C benchmark's reused buffer
//
//   mono --optimize=all CallOverhead.exe <model-folder> [info-calls] [logits-calls]
//
// Prints {"language": "csharp", "info_ns": ..., "logits_ns": ...} on stdout; on stderr also the
// allocating variant adapter.Logits(batch) for comparison.
using System;
using System.Diagnostics;
using System.Globalization;
using SoftPrompt;

internal static class CallOverhead
{
    private static double NanosecondsPerCall(Stopwatch watch, int calls)
    {
        return watch.Elapsed.TotalMilliseconds * 1e6 / calls;
    }

    private static string Fixed1(double value)
    {
        return value.ToString("F1", CultureInfo.InvariantCulture);
    }

    private static int Main(string[] args)
    {
        if (args.Length < 1)
        {
            Console.Error.WriteLine("usage: mono CallOverhead.exe <model-folder> [info-calls] [logits-calls]");
            return 2;
        }
        int infoCalls = args.Length > 1 ? int.Parse(args[1]) : 200000;
        int logitsCalls = args.Length > 2 ? int.Parse(args[2]) : 2000;

        using (Model model = Model.Open(args[0]))
        using (Adapter adapter = Adapter.Create(model, new AdapterOptions { NumVirtualTokens = 4 }))
        {
            long sink = 0; // keeps the JIT from dropping the calls
            for (int i = 0; i < 1000; ++i) // JIT the path before timing (the C side needs no such step)
                sink += adapter.Info.NumVirtualTokens;
            Stopwatch watch = Stopwatch.StartNew();
            for (int i = 0; i < infoCalls; ++i)
                sink += adapter.Info.NumVirtualTokens;
            double infoNs = NanosecondsPerCall(watch, infoCalls);

            var batch = new Batch(1, 8, new[] { 1, 2, 3, 4, 5, 6, 7, 8 });
            var logits = new float[model.VocabSize];
            for (int i = 0; i < 50; ++i)
                adapter.Logits(batch, LogitsMode.Last, logits);
            watch.Restart();
            for (int i = 0; i < logitsCalls; ++i)
                adapter.Logits(batch, LogitsMode.Last, logits);
            double logitsNs = NanosecondsPerCall(watch, logitsCalls);

            watch.Restart();
            for (int i = 0; i < logitsCalls; ++i)
                sink += adapter.Logits(batch).Length;
            double allocatingNs = NanosecondsPerCall(watch, logitsCalls);

            // Concatenated: in String.Format, "{1:F1}}}" would take the closing braces into the format.
            Console.WriteLine("{\"language\": \"csharp\", \"info_ns\": " + Fixed1(infoNs) + ", \"logits_ns\": " +
                              Fixed1(logitsNs) + "}");
            Console.Error.WriteLine("(allocating adapter.Logits(batch): " + Fixed1(allocatingNs) + " ns per call; checksum " +
                                    sink + ")");
        }
        return 0;
    }
}
