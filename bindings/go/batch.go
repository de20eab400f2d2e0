package softprompt

import (
	"math"
	"strconv"
)

// Batch is a batch of token sequences, all of length SeqLen (pad to it), in row-major
// (BatchSize, SeqLen) order. The slices are only read, and only during the call they are passed
// to. The library checks a batch when it is used: a BatchSize or SeqLen below 1 is
// StatusInvalidArgument, a slice of the wrong length StatusShapeMismatch, an id outside the
// vocabulary StatusOutOfRange.
type Batch struct {
	InputIDs      []int32 // BatchSize*SeqLen ids in [0, vocab size)
	AttentionMask []int32 // 1 = real token, 0 = padding; nil = all 1
	Labels        []int32 // targets in [0, vocab size) or -100 (ignored); nil = InputIDs with padding ignored; TaskTokenCls: class ids
	TaskIDs       []int32 // one task per row: required by multitask prompt tuning, ignored otherwise
	TokenTypeIDs  []int32 // BatchSize*SeqLen segments in [0, ModelInfo.TypeVocabSize); nil = all 0; refused for models without token types
	RowLabels     []int32 // TaskSeqCls: each row's class in [0, NumLabels), BatchSize of them (required for losses and training)
	BatchSize     int
	SeqLen        int
}

// checkInt32 refuses what cannot be passed to C faithfully: BatchSize and SeqLen travel as
// int32_t, so a larger Go int would arrive cut short. Every other check is the library's.
func (b *Batch) checkInt32() error {
	if b.BatchSize < math.MinInt32 || b.BatchSize > math.MaxInt32 || b.SeqLen < math.MinInt32 ||
		b.SeqLen > math.MaxInt32 {
		return newError(StatusInvalidArgument, "batch size "+strconv.Itoa(b.BatchSize)+" and sequence length "+
			strconv.Itoa(b.SeqLen)+" must fit in 32 bits")
	}
	return nil
}

// outputRows is the number of rows to allocate outputs for: BatchSize when InputIDs fills
// BatchSize x SeqLen, else 0 (the call then fails on the batch before it writes anything, so no
// large buffer is made for it). Call it after checkInt32.
func (b *Batch) outputRows() int {
	if b.BatchSize > 0 && b.SeqLen > 0 && len(b.InputIDs) == b.BatchSize*b.SeqLen {
		return b.BatchSize
	}
	return 0
}
