using SoftPrompt.Interop;

namespace SoftPrompt
{
    /// <summary>What one Trainer.Step did (sp_train_result).</summary>
    public sealed class TrainResult
    {
        internal TrainResult(NativeTrainResult native)
        {
            Loss = native.Loss;
            Updated = native.Updated != 0;
            GradNorm = native.GradNorm;
            LearningRate = native.LearningRate;
            UpdatesDone = native.UpdatesDone;
        }

        /// <summary>Mean loss of this micro-batch.</summary>
        public float Loss { get; private set; }

        /// <summary>Whether this step applied an optimiser update (every AccumulationSteps steps).</summary>
        public bool Updated { get; private set; }

        /// <summary>Total gradient norm before clipping (when Updated).</summary>
        public float GradNorm { get; private set; }

        /// <summary>Learning rate of that update (when Updated).</summary>
        public float LearningRate { get; private set; }

        /// <summary>Optimiser updates so far.</summary>
        public long UpdatesDone { get; private set; }
    }
}
