package softprompt

// Evaluation is what EvalLoss returns (named Loss, with a field Mean, before version 0.4; the
// Java and C# bindings use the same name).
type Evaluation struct {
	MeanLoss          float32   // mean loss of the task (causal-LM or classification) over the batch's targets
	RowLogLikelihoods []float32 // per row: the sum of log-probabilities of its targets
}
