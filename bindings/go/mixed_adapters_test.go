package softprompt

// Serving many adapters through Go (issue 14): batches whose rows name their own adapters
// (Batch.RowAdapters) and prompts that do (Prompts.Adapters) give each row what it gets alone with
// its adapter; adapter versions; the errors of the new slices; and Close still freeing at once.
// Expected values come from the same library called row by row (Adapter.Logits, Model.Logits, a
// context created with the row's adapter), compared with the suites' tolerance rule
// (tests/c/tolerance_rule.h, requireWithinToleranceRule): the mixed batch sums in another order
// (other padding, per-row key/value prefixes), never other values.

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// llamaIntermediateSize is the tiny llama's intermediate_size (make_tiny_model's default; not in
// ModelInfo), for the tolerance rule's forward length.
const llamaIntermediateSize = 128

// mixedAdapters: a prompt-tuning adapter of 4 virtual tokens and a prefix-tuning adapter of 6 on
// the shared model, closed when the test ends.
func mixedAdapters(t *testing.T) (promptTuning, prefixTuning *Adapter) {
	t.Helper()
	promptTuning = newTestAdapter(t, smallAdapterOptions(3))
	prefixOpts := DefaultAdapterOptions()
	prefixOpts.Method = MethodPrefixTuning
	prefixOpts.NumVirtualTokens = 6
	prefixOpts.Seed = 4
	prefixTuning = newTestAdapter(t, prefixOpts)
	return promptTuning, prefixTuning
}

// llamaForwardLength is the tolerance rule's reduction length of one forward pass of the shared
// model over keys attended positions (plain prompt tables: nothing in front of the blocks).
func llamaForwardLength(t *testing.T, keys int) float64 {
	t.Helper()
	info := try(llama.Info()).get(t)
	return toleranceRuleForwardLength(info.NumLayers, info.HiddenSize, info.NumAttentionHeads, info.HeadDim,
		llamaIntermediateSize, keys, 0)
}

// pseudoRandomIDs: n ids in [3, 253) from the LCG of the other tests.
func pseudoRandomIDs(seed uint32, n int) []int32 {
	ids := make([]int32, n)
	state := seed
	for i := range ids {
		state = state*1103515245 + 12345
		ids[i] = int32(3 + (state>>10)%250)
	}
	return ids
}

// rowBatch is row r of b alone: its ids (and mask), one row, no row adapters.
func rowBatch(b Batch, r int) Batch {
	row := Batch{InputIDs: b.InputIDs[r*b.SeqLen : (r+1)*b.SeqLen], BatchSize: 1, SeqLen: b.SeqLen}
	if b.AttentionMask != nil {
		row.AttentionMask = b.AttentionMask[r*b.SeqLen : (r+1)*b.SeqLen]
	}
	return row
}

// aloneLogits: row r of b run alone with adapter (nil: the base model).
func aloneLogits(t *testing.T, adapter *Adapter, row Batch, mode LogitsMode) []float32 {
	t.Helper()
	if adapter == nil {
		return try(llama.Logits(row, mode)).get(t)
	}
	return try(adapter.Logits(row, mode)).get(t)
}

func aloneEvaluation(t *testing.T, adapter *Adapter, row Batch) Evaluation {
	t.Helper()
	if adapter == nil {
		return try(llama.EvalLoss(row)).get(t)
	}
	return try(adapter.EvalLoss(row)).get(t)
}

// One batch mixes a prompt-tuning row, a prefix-tuning row (another virtual-token count), a row
// without any soft prompt and the prompt-tuning adapter again: every row's logits (at every
// position) and log-likelihood are those of the row alone through Adapter.Logits / Model.Logits
// and Adapter.EvalLoss / Model.EvalLoss.
func TestMixedBatchRowsEqualEachRowAlone(t *testing.T) {
	promptTuning, prefixTuning := mixedAdapters(t)
	const rows, seqLen, maxVirtualTokens = 4, 7, 6
	rowAdapters := []*Adapter{promptTuning, prefixTuning, nil, promptTuning}
	batch := Batch{InputIDs: pseudoRandomIDs(21, rows*seqLen), BatchSize: rows, SeqLen: seqLen, RowAdapters: rowAdapters}
	vocab := try(llama.Info()).get(t).VocabSize
	forward := llamaForwardLength(t, seqLen+maxVirtualTokens)

	mixed := try(llama.Logits(batch, LogitsAll)).get(t)
	if len(mixed) != rows*seqLen*vocab {
		t.Fatalf("%d logits, want %d", len(mixed), rows*seqLen*vocab)
	}
	evaluation := try(llama.EvalLoss(batch)).get(t)
	for r, adapter := range rowAdapters {
		row := rowBatch(batch, r)
		want := aloneLogits(t, adapter, row, LogitsAll)
		requireWithinToleranceRule(t, fmt.Sprintf("logits of row %d", r), mixed[r*seqLen*vocab:(r+1)*seqLen*vocab],
			want, forward)
		alone := aloneEvaluation(t, adapter, row)
		requireWithinToleranceRule(t, fmt.Sprintf("log-likelihood of row %d", r),
			evaluation.RowLogLikelihoods[r:r+1], alone.RowLogLikelihoods, forward+float64(vocab+seqLen+1))
	}
	// The rows differ from one another: the adapters were used (the prompt-tuning rows' logits are
	// not the base model's).
	base := aloneLogits(t, nil, rowBatch(batch, 0), LogitsAll)
	if reflect.DeepEqual(mixed[:seqLen*vocab], base) {
		t.Fatal("row 0 has the base model's logits: its adapter was not applied")
	}
}

// Prompts.Adapters gives each prompt its own adapter on a context created with another one: a
// prefix-tuning row, a row of the base model (nil entry) and a row of the context's own
// prompt-tuning adapter generate, greedily, the tokens each prompt generates alone on a context of
// its adapter; Prefill and Score agree with those contexts too.
func TestPromptAdaptersGenerateWhatEachPromptGeneratesAlone(t *testing.T) {
	promptTuning, prefixTuning := mixedAdapters(t)
	c := newTestContext(t, llama, promptTuning, 3, 64)
	adapters := []*Adapter{prefixTuning, nil, promptTuning}
	prompts := Prompts{IDs: [][]int32{pseudoRandomIDs(5, 3), pseudoRandomIDs(6, 6), pseudoRandomIDs(7, 9)},
		Adapters: adapters}
	continuations := [][]int32{pseudoRandomIDs(8, 2), pseudoRandomIDs(9, 3), pseudoRandomIDs(10, 4)}
	opts := greedy(10)

	generation := try(c.Generate(context.Background(), prompts, opts)).get(t)
	logits := try(c.Prefill(prompts)).get(t)
	scores := try(c.Score(prompts, continuations)).get(t)
	vocab := try(llama.Info()).get(t).VocabSize
	for r, adapter := range adapters {
		alone := newTestContext(t, llama, adapter, 1, 64)
		prompt := Prompts{IDs: prompts.IDs[r : r+1]}
		want := try(alone.Generate(context.Background(), prompt, opts)).get(t)
		if got := generation.Rows[r].IDs; !reflect.DeepEqual(got, want.Rows[0].IDs) {
			t.Fatalf("row %d generated %v; alone on its adapter's context %v", r, got, want.Rows[0].IDs)
		}
		forward := llamaForwardLength(t, len(prompts.IDs[r])+len(continuations[r])+6)
		requireWithinToleranceRule(t, fmt.Sprintf("prefill logits of row %d", r), logits[r*vocab:(r+1)*vocab],
			try(alone.Prefill(prompt)).get(t), forward)
		requireWithinToleranceRule(t, fmt.Sprintf("score of row %d", r), scores[r:r+1],
			try(alone.Score(prompt, continuations[r:r+1])).get(t), forward+float64(vocab+len(continuations[r])))
	}
	if reflect.DeepEqual(generation.Rows[0].IDs, generation.Rows[2].IDs) &&
		reflect.DeepEqual(generation.Rows[1].IDs, generation.Rows[2].IDs) {
		t.Fatal("the three rows generated the same tokens: the test does not tell the adapters apart")
	}
}

// An adapter's version is 1 or more once created, and grows with each trainer step that updates it.
func TestAdapterVersionGrowsWithTraining(t *testing.T) {
	adapter := newTestAdapter(t, smallAdapterOptions(1))
	created := try(adapter.Info()).get(t).Version
	if created < 1 {
		t.Fatalf("version %d after NewAdapter, want >= 1", created)
	}
	trainer := try(NewTrainer(adapter, nil)).get(t)
	defer trainer.Close()
	if step := try(trainer.Step(taskBatch())).get(t); !step.Updated {
		t.Fatal("the step did not update the adapter")
	}
	trained := try(adapter.Info()).get(t).Version
	if trained <= created {
		t.Fatalf("version %d after a trainer step, not above %d", trained, created)
	}
}

// The new slices fail the library's way: another length than one per row or prompt is
// StatusShapeMismatch, an adapter of another model StatusInvalidArgument, a closed adapter
// StatusInvalidHandle (checked by the binding before the call); adapter calls refuse row adapters.
func TestMixedAdapterErrors(t *testing.T) {
	promptTuning, prefixTuning := mixedAdapters(t)
	other := try(Open(filepath.Join(testModels, "llama"), testModelOptions())).get(t)
	defer other.Close()
	foreign := try(NewAdapter(other, ptr(smallAdapterOptions(1)))).get(t)
	defer foreign.Close()
	closed := try(NewAdapter(llama, ptr(smallAdapterOptions(2)))).get(t)
	closed.Close()

	batch := func(adapters ...*Adapter) Batch {
		return Batch{InputIDs: pseudoRandomIDs(3, 2*5), BatchSize: 2, SeqLen: 5, RowAdapters: adapters}
	}
	requireStatus(t, errorOf(llama.Logits(batch(promptTuning), LogitsLast)), StatusShapeMismatch)
	requireStatus(t, errorOf(llama.EvalLoss(batch(promptTuning, prefixTuning, nil))), StatusShapeMismatch)
	requireStatus(t, errorOf(llama.Logits(batch(promptTuning, foreign), LogitsLast)), StatusInvalidArgument)
	requireStatus(t, errorOf(llama.HiddenStates(batch(foreign, nil))), StatusInvalidArgument)
	requireStatus(t, errorOf(llama.Logits(batch(closed, prefixTuning), LogitsLast)), StatusInvalidHandle)
	requireStatus(t, errorOf(promptTuning.Logits(batch(prefixTuning, nil), LogitsLast)), StatusInvalidArgument)

	c := newTestContext(t, llama, nil, 2, 32)
	prompts := func(adapters ...*Adapter) Prompts {
		return Prompts{IDs: [][]int32{pseudoRandomIDs(4, 3), pseudoRandomIDs(5, 4)}, Adapters: adapters}
	}
	requireStatus(t, errorOf(c.Generate(context.Background(), prompts(prefixTuning), greedy(2))), StatusShapeMismatch)
	requireStatus(t, errorOf(c.Prefill(prompts(prefixTuning, nil, promptTuning))), StatusShapeMismatch)
	requireStatus(t, errorOf(c.Score(prompts(foreign, nil), [][]int32{{7}, {8}})), StatusInvalidArgument)
	requireStatus(t, errorOf(c.Stream(context.Background(), prompts(nil, closed), greedy(2))), StatusInvalidHandle)
	// After the failures, the same calls with valid adapters work.
	try(llama.Logits(batch(promptTuning, nil), LogitsLast)).get(t)
	try(c.Generate(context.Background(), prompts(prefixTuning, nil), greedy(2))).get(t)
}

func errorOf[T any](_ T, err error) error { return err }

// A mixed call holds its adapters only while it runs: Close right after it frees the adapter (no
// wait, later calls naming it get StatusInvalidHandle), Close twice is a no-op, and Close racing
// with mixed calls on other goroutines waits for them (each call either succeeds or sees the
// adapter closed, never freed memory).
func TestMixedCallsLeaveAdaptersToClose(t *testing.T) {
	promptTuning, prefixTuning := mixedAdapters(t)
	batch := Batch{InputIDs: pseudoRandomIDs(11, 2*6), BatchSize: 2, SeqLen: 6,
		RowAdapters: []*Adapter{promptTuning, prefixTuning}}
	c := newTestContext(t, llama, nil, 2, 32)
	prompts := Prompts{IDs: [][]int32{pseudoRandomIDs(12, 3), pseudoRandomIDs(13, 5)},
		Adapters: []*Adapter{prefixTuning, promptTuning}}
	try(llama.Logits(batch, LogitsLast)).get(t)
	try(c.Prefill(prompts)).get(t)

	closedInTime := make(chan struct{})
	go func() {
		promptTuning.Close()
		promptTuning.Close()
		close(closedInTime)
	}()
	select {
	case <-closedInTime:
	case <-time.After(10 * time.Second):
		t.Fatal("Close of an adapter used by finished mixed calls did not return: a call still holds it")
	}
	requireStatus(t, errorOf(llama.Logits(batch, LogitsLast)), StatusInvalidHandle)
	requireStatus(t, errorOf(c.Prefill(prompts)), StatusInvalidHandle)
	requireStatus(t, errorOf(promptTuning.Info()), StatusInvalidHandle)

	// Close racing with calls: each call succeeds or sees the adapter closed.
	racing := try(NewAdapter(llama, ptr(smallAdapterOptions(9)))).get(t)
	batch.RowAdapters = []*Adapter{racing, prefixTuning}
	done := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < 20; i++ {
				if _, err := llama.Logits(batch, LogitsLast); err != nil {
					if spErr, ok := err.(*Error); !ok || spErr.Status != StatusInvalidHandle {
						done <- err
						return
					}
				}
			}
			done <- nil
		}()
	}
	time.Sleep(5 * time.Millisecond)
	racing.Close()
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Fatalf("a mixed call racing with Close: %v", err)
		}
	}
}

// Cycles of creating a large prefix-tuning adapter, serving it in a mixed batch and in a context
// call, and closing it do not grow the resident set: the binding releases every adapter it holds
// for a call, so Close frees it. Each adapter holds 128 virtual tokens (a prefix of 64 KiB: 128 x 2
// layers x keys and values x 32 floats, and what is compiled from it): the same cycles with the
// adapters left open grew the RSS by 26 MiB (measured), closed ones by under 1 MiB; the bound, 8
// MiB, leaves room for allocator noise (the growth is in the test log).
func TestMixedCallCyclesDoNotLeak(t *testing.T) {
	const warmUp, cycles, boundKiB = 100, 500, 8 * 1024
	opts := DefaultAdapterOptions()
	opts.Method = MethodPrefixTuning
	opts.NumVirtualTokens = 128
	batch := Batch{InputIDs: pseudoRandomIDs(14, 2*4), BatchSize: 2, SeqLen: 4}
	c := newTestContext(t, llama, nil, 1, 16)
	prompts := Prompts{IDs: [][]int32{pseudoRandomIDs(15, 4)}}
	cycle := func(seed uint64) {
		opts.Seed = seed
		adapter := try(NewAdapter(llama, &opts)).get(t)
		batch.RowAdapters = []*Adapter{adapter, nil}
		prompts.Adapters = []*Adapter{adapter}
		try(llama.Logits(batch, LogitsLast)).get(t)
		try(c.Prefill(prompts)).get(t)
		adapter.Close()
	}
	for i := 0; i < warmUp; i++ {
		cycle(uint64(i))
	}
	runtime.GC()
	debug.FreeOSMemory()
	before := vmRSS(t)
	for i := 0; i < cycles; i++ {
		cycle(uint64(i))
	}
	runtime.GC()
	debug.FreeOSMemory()
	after := vmRSS(t)
	t.Logf("VmRSS %d KiB -> %d KiB over %d mixed-call cycles: growth %d KiB (bound %d KiB)", before, after, cycles,
		after-before, boundKiB)
	if after-before > boundKiB {
		t.Fatalf("VmRSS grew by %d KiB, more than the bound of %d KiB", after-before, boundKiB)
	}
}
