using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>Optimiser and schedule settings (sp_trainer_params). A new instance holds the C defaults.</summary>
    public sealed class TrainerOptions
    {
        private NativeTrainerParams defaults;

        public TrainerOptions()
        {
            defaults = Native.sp_trainer_default_params();
            StructLayouts.Verify<NativeTrainerParams>(defaults.StructSize);
            LearningRate = defaults.LearningRate;
            Beta1 = defaults.Beta1;
            Beta2 = defaults.Beta2;
            Eps = defaults.Eps;
            WeightDecay = defaults.WeightDecay;
            MaxGradNorm = defaults.MaxGradNorm;
            WarmupSteps = defaults.WarmupSteps;
            TotalSteps = defaults.TotalSteps;
            AccumulationSteps = defaults.AccumulationSteps;
        }

        /// <summary>Peak AdamW learning rate; default 3e-2.</summary>
        public double LearningRate { get; set; }

        /// <summary>Default 0.9.</summary>
        public double Beta1 { get; set; }

        /// <summary>Default 0.999.</summary>
        public double Beta2 { get; set; }

        /// <summary>Default 1e-8.</summary>
        public double Eps { get; set; }

        /// <summary>Decoupled weight decay; default 0.01.</summary>
        public double WeightDecay { get; set; }

        /// <summary>Clip the total gradient norm to this; 0 = off (default).</summary>
        public double MaxGradNorm { get; set; }

        /// <summary>Linear warm-up from 0 over this many updates; default 0.</summary>
        public int WarmupSteps { get; set; }

        /// <summary>Linear decay to 0 at this update; 0 = constant rate (default).</summary>
        public int TotalSteps { get; set; }

        /// <summary>Micro-batches per optimiser update; default 1.</summary>
        public int AccumulationSteps { get; set; }

        internal NativeTrainerParams ToNative()
        {
            NativeTrainerParams native = defaults;
            native.LearningRate = LearningRate;
            native.Beta1 = Beta1;
            native.Beta2 = Beta2;
            native.Eps = Eps;
            native.WeightDecay = WeightDecay;
            native.MaxGradNorm = MaxGradNorm;
            native.WarmupSteps = WarmupSteps;
            native.TotalSteps = TotalSteps;
            native.AccumulationSteps = AccumulationSteps;
            return native;
        }
    }
}
