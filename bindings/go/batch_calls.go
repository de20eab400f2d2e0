package softprompt

import (
	"math"
	"strconv"
)

// The Logits, EvalLoss and HiddenStates calls that Model and Adapter share: the same argument
// handling and buffer sizing around a C function that differs only in its handle type. Every batch
// call passes all of the batch's slices, its row adapters' handles included (spb_batch in
// softprompt.i), through batchCall.

// logitsFunc is Spb_model_logits or Spb_adapter_logits.
type logitsFunc[H any] func(h H, batchSize, seqLen int, inputIDs, attentionMask, labels, taskIDs, tokenTypeIDs,
	rowLabels []int32, decoderSeqLen int, decoderInputIDs []int32, rowAdapters []uintptr,
	mode Enum_SS_sp_logits_mode, out []float32) Enum_SS_sp_status

// evalLossFunc is Spb_model_eval_loss or Spb_adapter_eval_loss.
type evalLossFunc[H any] func(h H, batchSize, seqLen int, inputIDs, attentionMask, labels, taskIDs, tokenTypeIDs,
	rowLabels []int32, decoderSeqLen int, decoderInputIDs []int32, rowAdapters []uintptr,
	meanLoss, rows []float32) Enum_SS_sp_status

// hiddenStatesFunc is Spb_model_hidden_states or Spb_adapter_hidden_states.
type hiddenStatesFunc[H any] func(h H, batchSize, seqLen int, inputIDs, attentionMask, labels, taskIDs,
	tokenTypeIDs, rowLabels []int32, decoderSeqLen int, decoderInputIDs []int32, rowAdapters []uintptr,
	out []float32) Enum_SS_sp_status

// batchCall makes one batch call on o's live handle with the batch's row adapters held
// (withAdapters): f passes h, the batch's slices and rows, the row adapters' handles.
func batchCall[H swigHandle](o *object[H], batch *Batch, f func(h H, rows []uintptr) Enum_SS_sp_status) error {
	return withAdapters(batch.RowAdapters, func(rows []uintptr) error {
		return o.statusCall(func(h H) Enum_SS_sp_status { return f(h, rows) })
	})
}

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
	err = batchCall(o, batch, func(h H, rows []uintptr) Enum_SS_sp_status {
		return call(h, batch.BatchSize, batch.SeqLen, batch.InputIDs, batch.AttentionMask, batch.Labels,
			batch.TaskIDs, batch.TokenTypeIDs, batch.RowLabels, batch.DecoderSeqLen, batch.DecoderInputIDs, rows,
			Enum_SS_sp_logits_mode(mode), out)
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
	err := batchCall(o, batch, func(h H, adapters []uintptr) Enum_SS_sp_status {
		return call(h, batch.BatchSize, batch.SeqLen, batch.InputIDs, batch.AttentionMask, batch.Labels,
			batch.TaskIDs, batch.TokenTypeIDs, batch.RowLabels, batch.DecoderSeqLen, batch.DecoderInputIDs, adapters,
			mean, rows)
	})
	if err != nil {
		return Evaluation{}, err
	}
	return Evaluation{MeanLoss: mean[0], RowLogLikelihoods: rows}, nil
}

// batchHiddenStates returns BatchSize*SeqLen*hiddenSize values (hiddenSize: the model's, from
// sp_model_info or sp_adapter_info).
func batchHiddenStates[H swigHandle](o *object[H], call hiddenStatesFunc[H], hiddenSize int,
	batch *Batch) ([]float32, error) {
	if err := batch.checkInt32(); err != nil {
		return nil, err
	}
	out, err := outputSlice(batch, int64(batch.SeqLen)*int64(hiddenSize), "hidden states")
	if err != nil {
		return nil, err
	}
	err = batchCall(o, batch, func(h H, rows []uintptr) Enum_SS_sp_status {
		return call(h, batch.BatchSize, batch.SeqLen, batch.InputIDs, batch.AttentionMask, batch.Labels,
			batch.TaskIDs, batch.TokenTypeIDs, batch.RowLabels, batch.DecoderSeqLen, batch.DecoderInputIDs, rows, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// outputSlice makes the output of a batch call with valuesPerRow values per row, the values per row
// from the C library's info (hidden size, class count). A batch whose InputIDs do not fill
// BatchSize x SeqLen fails in the call (StatusShapeMismatch) before the library looks at the
// buffer, and an adapter of another task has 0 classes: both get one value, so that the buffer
// reaches C as a pointer, not as NULL (which the library would report first). The library checks
// the buffer against the result (StatusBufferTooSmall). Call it after checkInt32.
func outputSlice(batch *Batch, valuesPerRow int64, what string) ([]float32, error) {
	rows := int64(batch.outputRows())
	if rows == 0 || valuesPerRow <= 0 {
		return make([]float32, 1), nil
	}
	if valuesPerRow > math.MaxInt/rows {
		return nil, newError(StatusOutOfRange, what+": "+strconv.FormatInt(rows, 10)+" rows of "+
			strconv.FormatInt(valuesPerRow, 10)+" values do not fit in a slice")
	}
	return make([]float32, rows*valuesPerRow), nil
}

// logitsCount is the number of values a logits call returns, from the library (sp_logits_count):
// its failure (sizes below 1, an unknown mode) is returned as that call's error, like every other
// batch error. A batch with a decoder side (encoder-decoder models) counts the decoder's positions.
func logitsCount(vocabSize int, batch *Batch, mode LogitsMode) (int, error) {
	count, err := lockedCall(func() (int64, bool) {
		n := Spb_logits_count(int64(vocabSize), batch.BatchSize, batch.logitsSeqLen(), Enum_SS_sp_logits_mode(mode))
		return n, n >= 0
	})
	if err != nil || batch.outputRows() == 0 {
		// With InputIDs not filling BatchSize x SeqLen, the call fails (StatusShapeMismatch) before
		// the library looks at the buffer: allocate nothing for it.
		return 0, err
	}
	return int(count), nil
}
