namespace SoftPrompt
{
    /// <summary>Result of EvalLoss: the mean loss of the task (causal-LM or classification) and each row's log-likelihood.</summary>
    public sealed class Evaluation
    {
        internal Evaluation(float meanLoss, float[] rowLogLikelihoods)
        {
            MeanLoss = meanLoss;
            RowLogLikelihoods = rowLogLikelihoods;
        }

        /// <summary>Mean cross-entropy over every target of the batch.</summary>
        public float MeanLoss { get; private set; }

        /// <summary>Per row, the sum of the log-probabilities of its targets.</summary>
        public float[] RowLogLikelihoods { get; private set; }
    }
}
