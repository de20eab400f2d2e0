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
//
// Encoder-decoder models (ModelInfo.IsEncoderDecoder, T5) take batches with two sides: InputIDs and
// AttentionMask (BatchSize x SeqLen) are the encoder's input, and the decoder's rows hold
// DecoderSeqLen positions: Labels are then the decoder's targets (BatchSize x DecoderSeqLen), and
// the decoder reads DecoderInputIDs or, when they are nil, the labels shifted right behind
// ModelInfo.DecoderStartTokenID. Logits of such a batch are the decoder's.
type Batch struct {
	InputIDs      []int32 // BatchSize*SeqLen ids in [0, vocab size)
	AttentionMask []int32 // 1 = real token, 0 = padding; nil = all 1
	Labels        []int32 // targets in [0, vocab size) or -100 (ignored); nil = InputIDs with padding ignored; TaskTokenCls: class ids; encoder-decoder models: the decoder's targets, BatchSize*DecoderSeqLen (position i predicts target i; pad rows at their end with -100)
	TaskIDs       []int32 // one task per row: required by multitask prompt tuning, ignored otherwise
	TokenTypeIDs  []int32 // BatchSize*SeqLen segments in [0, ModelInfo.TypeVocabSize); nil = all 0; refused for models without token types
	RowLabels     []int32 // TaskSeqCls: each row's class in [0, NumLabels), BatchSize of them (required for losses and training)
	BatchSize     int
	SeqLen        int

	// DecoderSeqLen is the decoder's positions per row (encoder-decoder models only), > 0 when
	// Labels or DecoderInputIDs are given (logits and losses need one of them); 0 = no decoder
	// side. Decoder rows have no padding mask: pad them at the end. StatusInvalidArgument for other
	// models.
	DecoderSeqLen int
	// DecoderInputIDs are the decoder's input ids (encoder-decoder models only), BatchSize*DecoderSeqLen
	// in [0, vocab size); nil = Labels shifted right behind ModelInfo.DecoderStartTokenID (-100 read
	// as the pad id), as transformers does. StatusInvalidArgument for other models.
	DecoderInputIDs []int32

	// RowAdapters gives each row its own adapter, BatchSize of them, for Model.Logits, Model.EvalLoss
	// and Model.HiddenStates: row r runs with RowAdapters[r]'s soft prompt, or with none where the
	// entry is nil; any mix of methods and virtual-token counts, in one forward pass on decoder-only
	// models. Each row's result is that row's result alone with its adapter (Adapter.Logits,
	// Adapter.EvalLoss), to float32 round-off. nil = no soft prompt in any row. Every adapter must
	// belong to the model (StatusInvalidArgument otherwise); another length is StatusShapeMismatch, a
	// closed adapter StatusInvalidHandle. Adapter and Trainer calls refuse a batch that sets them.
	RowAdapters []*Adapter
}

// checkInt32 refuses what cannot be passed to C faithfully: BatchSize, SeqLen and DecoderSeqLen
// travel as int32_t, so a larger Go int would arrive cut short. Every other check is the library's.
func (b *Batch) checkInt32() error {
	if b.BatchSize < math.MinInt32 || b.BatchSize > math.MaxInt32 || b.SeqLen < math.MinInt32 ||
		b.SeqLen > math.MaxInt32 {
		return newError(StatusInvalidArgument, "batch size "+strconv.Itoa(b.BatchSize)+" and sequence length "+
			strconv.Itoa(b.SeqLen)+" must fit in 32 bits")
	}
	if b.DecoderSeqLen < math.MinInt32 || b.DecoderSeqLen > math.MaxInt32 {
		return newError(StatusInvalidArgument, "decoder sequence length "+strconv.Itoa(b.DecoderSeqLen)+
			" must fit in 32 bits")
	}
	return nil
}

// logitsSeqLen is the positions per row of a LogitsAll call: the decoder's when the batch has a
// decoder side, else SeqLen.
func (b *Batch) logitsSeqLen() int {
	if b.DecoderSeqLen > 0 {
		return b.DecoderSeqLen
	}
	return b.SeqLen
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
