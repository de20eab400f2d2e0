// Blittable twins of the C structs that cross the boundary by value or by reference (see the
// SPCS_STRUCT typemaps in typemaps.i). Field order and types follow softprompt.h exactly;
// LayoutKind.Sequential then gives the C (x86-64 / AArch64 SysV) layout, padding included.
// StructLayouts.Verify compares each size with the C sizeof at run time, so a header change that
// is not mirrored here fails loudly instead of corrupting memory.
using System;
using System.Runtime.InteropServices;

namespace SoftPrompt.Interop
{
    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeModelParams
    {
        public UIntPtr StructSize;
        public Device Device;
        public int DeviceIndex;
        public DType DType;
        public int AllowTf32; // appended in 0.3
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeAdapterParams
    {
        public UIntPtr StructSize;
        public Method Method;
        public int NumVirtualTokens;
        public PromptInit Init;
        // The four pointer fields below are passed as separate arguments of spb_adapter_create
        // (which overwrites them), so they stay zero here; they exist to keep the layout.
        public IntPtr InitTokenIds;
        public UIntPtr NumInitTokenIds;
        public IntPtr InitText;
        public IntPtr TokenizerNameOrPath;
        public ulong Seed;
        public int EncoderHiddenSize;
        public int PrefixProjection;
        public int PrefixZeroInit;
        public EncoderType EncoderType;
        public int EncoderNumLayers;
        public float EncoderDropout;
        public int NumTasks;
        public int NumRanks;
        public IntPtr SourceAdapter;
        public int SourceTask;
        public TaskType TaskType; // appended in 0.5
        public int NumLabels;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeTrainerParams
    {
        public UIntPtr StructSize;
        public double LearningRate;
        public double Beta1;
        public double Beta2;
        public double Eps;
        public double WeightDecay;
        public double MaxGradNorm;
        public int WarmupSteps;
        public int TotalSteps;
        public int AccumulationSteps;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct NativeModelInfo
    {
        public UIntPtr StructSize;
        public long VocabSize;
        public long HiddenSize;
        public long NumLayers;
        public long NumAttentionHeads;
        public long NumKeyValueHeads;
        public long HeadDim;
        public long MaxPositionEmbeddings;
        public fixed byte ModelType[32]; // NUL-terminated UTF-8
        public long TypeVocabSize;       // appended in 0.5
        public int HasLmHead;
        public int IsEncoderDecoder;
        public long NumDecoderLayers;
        public long DecoderStartTokenId;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeAdapterInfo
    {
        public UIntPtr StructSize;
        public Method Method;
        public int NumVirtualTokens;
        public int NumTasks;
        public int NumParameterTensors;
        public long NumTrainableParameters;
        public long VocabSize; // appended in 0.3
        public TaskType TaskType; // appended in 0.5
        public int NumLabels;
        public long HiddenSize;
        public ulong Version; // appended in 0.6
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeTrainResult
    {
        public UIntPtr StructSize;
        public float Loss;
        public int Updated;
        public float GradNorm;
        public float LearningRate;
        public long UpdatesDone;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeTokenizerInfo
    {
        public UIntPtr StructSize;
        public long VocabSize;
        public int BosId;
        public int EosId;
        public int PadId;
        public int UnkId;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeContextParams
    {
        public UIntPtr StructSize;
        public int MaxBatchSize;
        public int MaxLength;
        public int RecomputePrompts; // appended in 0.6
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct NativeGenerateParams
    {
        public UIntPtr StructSize;
        public int MaxNewTokens;
        public int DoSample;
        public float Temperature;
        public int TopK;
        public float TopP;
        public float MinP;
        public float RepetitionPenalty;
        public ulong Seed;
        public int UseModelEos;
        // The pointer fields are passed as separate arguments of spb_context_generate_begin (which
        // overwrites them) or cleared by the binding layer, so they stay zero here; they keep the layout.
        public IntPtr StopIds;
        public UIntPtr NumStopIds;
        public IntPtr StopStrings;
        public UIntPtr NumStopStrings;
        public int SkipSpecialTokens;
        public IntPtr Callback;
        public IntPtr UserData;
    }

    /// <summary>A pinned array as the C wrapper's spcs_span: pointer and element count, passed by value.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct NativeSpan
    {
        public void* Data;
        public UIntPtr Count;

        public NativeSpan(void* data, int count)
        {
            Data = data;
            Count = (UIntPtr)(uint)count;
        }
    }
}
