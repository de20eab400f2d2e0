package softprompt

// The Logits and EvalLoss calls that Model and Adapter share: the same argument handling and
// buffer sizing around a C function that differs only in its handle type.

// logitsFunc is Spb_model_logits or Spb_adapter_logits.
type logitsFunc[H any] func(h H, batchSize, seqLen int, inputIDs, attentionMask, labels, taskIDs []int32,
	mode Enum_SS_sp_logits_mode, out []float32) Enum_SS_sp_status

// evalLossFunc is Spb_model_eval_loss or Spb_adapter_eval_loss.
type evalLossFunc[H any] func(h H, batchSize, seqLen int, inputIDs, attentionMask, labels, taskIDs []int32,
	meanLoss, rows []float32) Enum_SS_sp_status

func batchLogits[H swigHandle](o *object[H], call logitsFunc[H], vocabSize int, batch *Batch,
	mode LogitsMode) ([]float32, error) {
	if err := batch.checkInt32(); err != nil {
		return nil, err
	}
	count, err := logitsCount(vocabSize, batch, mode)
	if err != nil {
		return nil, err
	}
	out := make([]float32, count)
	err = o.statusCall(func(h H) Enum_SS_sp_status {
		return call(h, batch.BatchSize, batch.SeqLen, batch.InputIDs, batch.AttentionMask, batch.Labels,
			batch.TaskIDs, Enum_SS_sp_logits_mode(mode), out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func batchEvalLoss[H swigHandle](o *object[H], call evalLossFunc[H], batch *Batch) (Evaluation, error) {
	if err := batch.checkInt32(); err != nil {
		return Evaluation{}, err
	}
	mean := make([]float32, 1)
	rows := make([]float32, batch.outputRows())
	err := o.statusCall(func(h H) Enum_SS_sp_status {
		return call(h, batch.BatchSize, batch.SeqLen, batch.InputIDs, batch.AttentionMask, batch.Labels,
			batch.TaskIDs, mean, rows)
	})
	if err != nil {
		return Evaluation{}, err
	}
	return Evaluation{MeanLoss: mean[0], RowLogLikelihoods: rows}, nil
}

// logitsCount is the number of values a logits call returns, from the library (sp_logits_count):
// its failure (sizes below 1, an unknown mode) is returned as that call's error, like every other
// batch error.
func logitsCount(vocabSize int, batch *Batch, mode LogitsMode) (int, error) {
	count, err := lockedCall(func() (int64, bool) {
		n := Spb_logits_count(int64(vocabSize), batch.BatchSize, batch.SeqLen, Enum_SS_sp_logits_mode(mode))
		return n, n >= 0
	})
	if err != nil || batch.outputRows() == 0 {
		// With InputIDs not filling BatchSize x SeqLen, the call fails (StatusShapeMismatch) before
		// the library looks at the buffer: allocate nothing for it.
		return 0, err
	}
	return int(count), nil
}
