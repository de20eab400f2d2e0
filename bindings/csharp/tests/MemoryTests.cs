// 10,000 create/dispose cycles of an adapter and its trainer must not grow the process's
// resident memory: a missed sp_*_free, a leaked pinned array or GCHandle would.
using System;
using System.IO;
using System.Text.RegularExpressions;
using NUnit.Framework;

namespace SoftPrompt.Tests
{
    [TestFixture]
    public class MemoryTests
    {
        private const int Cycles = 10000;

        // Cycles run before the first measurement: the JIT, the GC's heap sizing, malloc arenas
        // and LibTorch's caches all grow during the first calls of a process.
        private const int WarmUpCycles = 2000;

        // Bound on RSS growth over the measured 10,000 cycles, in KiB. Measured on the development
        // machine (Mono 6.8, glibc 2.36): 0.02-2.5 MiB, and in a longer run RSS rose by 2-3 MiB over
        // the first ~15,000 cycles of a process and then stayed flat to the KiB for 60,000 more
        // (heap sizing, not a leak). Not freeing the adapters (ReleaseHandle skipping
        // sp_adapter_free, tried on purpose) grew it by 24,000 KiB; any leak of about 400 bytes or
        // more per cycle crosses the bound.
        private const long BoundKiB = 4096;

        /// <summary>VmRSS after a full collection (also read by MixedAdapterTests).</summary>
        internal static long ResidentKiB()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            Match match = Regex.Match(File.ReadAllText("/proc/self/status"), @"VmRSS:\s+(\d+) kB");
            Assert.IsTrue(match.Success, "no VmRSS in /proc/self/status");
            return long.Parse(match.Groups[1].Value);
        }

        private static void Cycle(Model model, AdapterOptions options, Batch batch, float[] output)
        {
            using (Adapter adapter = Adapter.Create(model, options))
            using (Trainer trainer = Trainer.Create(adapter))
            {
                var info = adapter.Info;
                if (info.NumVirtualTokens != 4)
                    Assert.Fail("unexpected adapter info");
                adapter.Logits(batch, LogitsMode.Last, output);
            }
        }

        [Test]
        public void TenThousandCreateDisposeCyclesDoNotGrowMemory()
        {
            using (Model model = Model.Open(TestData.LlamaFolder))
            {
                var options = new AdapterOptions { NumVirtualTokens = 4 };
                Batch batch = new Batch(1, 4, new[] { 5, 6, 7, 8 });
                var output = new float[256];
                for (int i = 0; i < WarmUpCycles; ++i) // JIT, GC heap sizing, malloc arenas, LibTorch caches
                    Cycle(model, options, batch, output);
                long before = ResidentKiB();
                for (int i = 0; i < Cycles; ++i)
                    Cycle(model, options, batch, output);
                long after = ResidentKiB();
                long growth = after - before;
                Console.WriteLine("    RSS {0} KiB -> {1} KiB over {2} cycles: growth {3} KiB (bound {4} KiB)", before, after,
                                  Cycles, growth, BoundKiB);
                Assert.LessOrEqual(growth, BoundKiB, "resident memory grew by more than the bound");
            }
        }
    }
}
