// TrainPrompt: the whole life of a soft prompt through the C# binding, the same task as
// examples/c/train_prompt.c.
//
//   LD_LIBRARY_PATH is not needed when TrainPrompt.exe sits next to SoftPrompt.dll and
//   libsoftprompt_csharp.so (as in the build tree):
//   mono <build>/bindings/csharp/out/TrainPrompt.exe <model-folder> <adapter-folder> [steps] [--method NAME]
//
// Loads a frozen model, creates an adapter of one soft-prompt method, trains it for `steps`
// updates (default 300) on a small fixed task, prints the loss as it falls, saves the adapter in
// PEFT's folder layout and in softprompt's single-file format, loads both back and checks that
// each reloaded adapter gives the same evaluation loss.
//
// Methods (--method): prompt (default), prefix, prefix-projection, ptuning-mlp, ptuning-lstm, mpt.
using System;
using System.Collections.Generic;
using SoftPrompt;

internal static class TrainPrompt
{
    private const int Rows = 4;
    private const int SeqLen = 12;

    /// <summary>Four sequences of ids in [3, vocabSize): the fixed pseudo-random "corpus" of train_prompt.c.</summary>
    private static int[] MakeTask(long vocabSize)
    {
        var ids = new int[Rows * SeqLen];
        uint state = 12345u;
        for (int i = 0; i < ids.Length; ++i)
        {
            state = unchecked(state * 1664525u + 1013904223u);
            ids[i] = (int)(3 + (state >> 8) % (uint)(vocabSize - 3));
        }
        return ids;
    }

    /// <summary>Adapter settings and a learning rate that suit each method on this task; null for unknown names.</summary>
    private static AdapterOptions Configure(string method, out double learningRate)
    {
        var options = new AdapterOptions { NumVirtualTokens = 16, Seed = 42 };
        learningRate = 0.1;
        switch (method)
        {
            case "prompt":
                options.Init = PromptInit.SampleVocab;
                break;
            case "prefix":
                options.Method = Method.PrefixTuning;
                learningRate = 0.05;
                break;
            case "prefix-projection":
                options.Method = Method.PrefixTuning;
                options.PrefixProjection = true;
                learningRate = 3e-3;
                break;
            case "ptuning-mlp":
            case "ptuning-lstm":
                options.Method = Method.PTuning;
                options.EncoderType = method == "ptuning-lstm" ? EncoderType.Lstm : EncoderType.Mlp;
                learningRate = 3e-3;
                break;
            case "mpt":
                options.Method = Method.MultitaskPromptTuning;
                options.NumTasks = 2;
                break;
            default:
                return null;
        }
        return options;
    }

    private static int Main(string[] args)
    {
        string method = "prompt";
        var positional = new List<string>();
        for (int i = 0; i < args.Length; ++i)
        {
            if (args[i] == "--method" && i + 1 < args.Length)
                method = args[++i];
            else
                positional.Add(args[i]);
        }
        double learningRate;
        AdapterOptions adapterOptions = Configure(method, out learningRate);
        if (positional.Count < 2 || adapterOptions == null)
        {
            Console.Error.WriteLine("usage: mono TrainPrompt.exe <model-folder> <adapter-folder> [steps] " +
                                    "[--method prompt|prefix|prefix-projection|ptuning-mlp|ptuning-lstm|mpt]");
            return 2;
        }
        string modelFolder = positional[0];
        string adapterFolder = positional[1];
        int steps = positional.Count > 2 ? int.Parse(positional[2]) : 300;

        try
        {
            return Run(modelFolder, adapterFolder, steps, method, adapterOptions, learningRate);
        }
        catch (SoftPromptException e)
        {
            // Status name and the library's message, e.g. "SP_ERR_NOT_FOUND: model folder not found: '...'".
            Console.Error.WriteLine("softprompt error: " + e.Message);
            return 1;
        }
    }

    private static int Run(string modelFolder, string adapterFolder, int steps, string method,
                           AdapterOptions adapterOptions, double learningRate)
    {
        Console.WriteLine("softprompt {0}, method {1}", Library.Version, method);
        using (Model model = Model.Open(modelFolder))
        {
            ModelInfo info = model.Info;
            Console.WriteLine("model: {0}, {1} layers, hidden {2}, vocabulary {3}", info.ModelType, info.NumLayers,
                              info.HiddenSize, info.VocabSize);
            // Task ids are read by multitask prompt tuning only.
            var batch = new Batch(Rows, SeqLen, MakeTask(info.VocabSize), taskIds: new[] { 0, 1, 0, 1 });

            var trainerOptions = new TrainerOptions
            {
                LearningRate = learningRate, WarmupSteps = 10, TotalSteps = steps, MaxGradNorm = 1.0
            };
            float startLoss, trainedLoss, folderLoss, fileLoss;
            string singleFile = adapterFolder + ".spadapter";
            using (Adapter adapter = Adapter.Create(model, adapterOptions))
            using (Trainer trainer = Trainer.Create(adapter, trainerOptions))
            {
                startLoss = adapter.EvalLoss(batch).MeanLoss;
                Console.WriteLine("step {0,4}  loss {1:F4}", 0, startLoss);
                for (int step = 1; step <= steps; ++step)
                {
                    TrainResult result = trainer.Step(batch);
                    if (step % 25 == 0 || step == steps)
                        Console.WriteLine("step {0,4}  loss {1:F4}  lr {2:F4}  grad-norm {3:F3}", step, result.Loss,
                                          result.LearningRate, result.GradNorm);
                }
                trainedLoss = adapter.EvalLoss(batch).MeanLoss;
                adapter.Save(adapterFolder);
                Console.WriteLine("saved adapter to {0}", adapterFolder);
                adapter.SaveFile(singleFile);
                Console.WriteLine("saved adapter to {0}", singleFile);
            }

            using (Adapter reloaded = Adapter.Load(model, adapterFolder))
                folderLoss = reloaded.EvalLoss(batch).MeanLoss;
            using (Adapter fromFile = Adapter.LoadFile(model, singleFile))
                fileLoss = fromFile.EvalLoss(batch).MeanLoss;
            Console.WriteLine("evaluation loss: start {0:F4}, trained {1:F4}, reloaded from the folder {2:F4}, from the file {3:F4}",
                              startLoss, trainedLoss, folderLoss, fileLoss);

            if (Math.Abs(trainedLoss - folderLoss) > 1e-5f || Math.Abs(trainedLoss - fileLoss) > 1e-5f)
            {
                Console.Error.WriteLine("a reloaded adapter gives a different loss");
                return 1;
            }
            if (!(trainedLoss < startLoss))
            {
                Console.Error.WriteLine("the loss did not fall");
                return 1;
            }
            return 0;
        }
    }
}
