package softprompt

import (
	"math"
	"strconv"
)

// Batch is a batch of token sequences, all of length SeqLen (pad to it), in row-major
// (BatchSize, SeqLen) order. The slices are only read, and only during the call they are passed
// to.
type Batch struct {
	InputIDs      []int32 // BatchSize*SeqLen ids in [0, vocab size)
	AttentionMask []int32 // 1 = real token, 0 = padding; nil = all 1
	Labels        []int32 // targets in [0, vocab size) or -100 (ignored); nil = InputIDs with padding ignored
	TaskIDs       []int32 // one task per row: required by multitask prompt tuning, ignored otherwise
	BatchSize     int
	SeqLen        int
}

// check validates what Go needs before the call: the int32 arguments of the C call, and the
// InputIDs count from which the output size is computed (so that a wrong count is reported
// instead of allocating a huge buffer first). The library checks everything else.
func (b *Batch) check() error {
	if b.BatchSize <= 0 || b.SeqLen <= 0 || b.BatchSize > math.MaxInt32 || b.SeqLen > math.MaxInt32 {
		return newError(StatusInvalidArgument, "batch size "+strconv.Itoa(b.BatchSize)+" and sequence length "+
			strconv.Itoa(b.SeqLen)+" must be positive 32-bit numbers")
	}
	if len(b.InputIDs) != b.BatchSize*b.SeqLen { // the status and wording of the C library's own check
		return newError(StatusShapeMismatch, "Batch.InputIDs has "+strconv.Itoa(len(b.InputIDs))+
			" values but BatchSize * SeqLen is "+strconv.Itoa(b.BatchSize*b.SeqLen))
	}
	return nil
}

// logitsCount is the number of values Logits returns for this batch.
func (b *Batch) logitsCount(mode LogitsMode, vocabSize int) (int, error) {
	if err := b.check(); err != nil {
		return 0, err
	}
	switch mode {
	case LogitsLast:
		return b.BatchSize * vocabSize, nil
	case LogitsAll:
		return b.BatchSize * b.SeqLen * vocabSize, nil
	}
	return 0, newError(StatusInvalidArgument, "unknown logits mode "+mode.String())
}

// Loss is an evaluation result.
type Loss struct {
	Mean              float32   // mean causal-LM loss over the batch's targets
	RowLogLikelihoods []float32 // per row: the sum of log-probabilities of its targets
}
