package softprompt

// Generation through Go: streamed text that decodes to the generated ids without ever splitting a
// character, the three ways of generating (Generate, GenerateFunc, Stream) agreeing, stopping by
// callback, by cancellation and by leaving a stream, batches of different lengths, seeded
// sampling across goroutines, stop ids and stop strings, and an adapter's soft prompt. The model
// with a tokenizer is the tiny llama of the tokenizer_binding_reference fixture with the gpt2
// byte-level tokenizer.json: its 256 ids are byte tokens, so generated text is often partial UTF-8.

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// textPrompts encode, with the gpt2 tokenizer, to ids below 256 only (byte tokens and a space),
// so the tiny model accepts them.
var textPrompts = []string{"Q: 7+5=", "Hi!", "{[<1+2=3"}

var (
	textModelOnce sync.Once
	textModelOpen *Model
	textModelErr  error
)

// textModel is the tiny llama with a tokenizer, opened once and shared.
func textModel(t *testing.T) *Model {
	t.Helper()
	folder := tokenizerFixture(t).modelFolder
	textModelOnce.Do(func() { textModelOpen, textModelErr = Open(folder, testModelOptions()) })
	if textModelErr != nil {
		t.Fatal(textModelErr)
	}
	return textModelOpen
}

// newTestContext creates a context closed when the test ends.
func newTestContext(t *testing.T, m *Model, a *Adapter, maxBatchSize, maxLength int) *Context {
	t.Helper()
	c, err := NewContext(m, a, &ContextOptions{MaxBatchSize: maxBatchSize, MaxLength: maxLength})
	if err != nil {
		t.Fatalf("NewContext: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// greedy: n new tokens, argmax, not stopping at the model's EOS.
func greedy(n int) *GenerateOptions {
	opts := DefaultGenerateOptions()
	opts.MaxNewTokens = n
	opts.UseModelEOS = false
	return &opts
}

func idsOf(g *Generation) [][]int32 {
	ids := make([][]int32, len(g.Rows))
	for i, row := range g.Rows {
		ids[i] = row.IDs
	}
	return ids
}

// nativeGenerationRunning asks the C context itself, past the Go layer, whether a generation still
// has events to give (sp_context_generate_next reports none once it was stopped).
func nativeGenerationRunning(t *testing.T, c *Context) bool {
	t.Helper()
	h, err := c.acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer c.release()
	return Spb_context_generate_next(h, make([]int32, 3)) == 1
}

// mixedPrompts: lengths 1, 6 and 11 of pseudo-random ids in [3, 253).
func mixedPrompts() Prompts {
	state := uint32(7)
	p := Prompts{}
	for _, n := range []int{1, 6, 11} {
		ids := make([]int32, n)
		for i := range ids {
			state = state*1103515245 + 12345
			ids[i] = int32(3 + (state>>10)%250)
		}
		p.IDs = append(p.IDs, ids)
	}
	return p
}

// The streamed pieces of each row join to exactly the tokenizer's decode of the row's ids; every
// piece is valid UTF-8 on its own (so no character is ever split between two pieces); the ids are
// those of the non-streaming Generate.
func TestGenerationStreamedTextIsTheDecodedText(t *testing.T) {
	m := textModel(t)
	tok := try(m.Tokenizer()).get(t)
	defer tok.Close()
	c := newTestContext(t, m, nil, len(textPrompts), 128)
	prompts := try(c.PromptsFromText(textPrompts...)).get(t)
	for i, text := range textPrompts {
		if want := try(tok.Encode(text, true)).get(t); !reflect.DeepEqual(prompts.IDs[i], want) {
			t.Fatalf("PromptsFromText(%q) = %v; the tokenizer gives %v", text, prompts.IDs[i], want)
		}
	}
	opts := greedy(48)
	pieces := make([]strings.Builder, len(textPrompts))
	ids := make([][]int32, len(textPrompts))
	heldBack := 0
	streamed := try(c.GenerateFunc(context.Background(), prompts, opts, func(e TokenEvent) bool {
		if !utf8.ValidString(e.Text) {
			t.Errorf("row %d token %d: the piece %q is not valid UTF-8", e.Row, e.TokenID, e.Text)
		}
		if e.Text == "" {
			heldBack++
		}
		pieces[e.Row].WriteString(e.Text)
		ids[e.Row] = append(ids[e.Row], e.TokenID)
		return true
	})).get(t)
	t.Logf("%d of %d events came with no text (bytes held back)", heldBack, 48*len(textPrompts))
	plain := try(c.Generate(context.Background(), prompts, opts)).get(t)
	if !reflect.DeepEqual(idsOf(plain), ids) || !reflect.DeepEqual(idsOf(streamed), ids) {
		t.Errorf("ids: events %v, GenerateFunc %v, Generate %v", ids, idsOf(streamed), idsOf(plain))
	}
	for r := range textPrompts {
		want := try(tok.Decode(ids[r], true)).get(t)
		if got := pieces[r].String(); got != want {
			t.Errorf("row %d: the pieces join to %q; Decode of its ids is %q", r, got, want)
		}
		if plain.Rows[r].Text != want || streamed.Rows[r].Text != want {
			t.Errorf("row %d: Generation text %q / %q; want %q", r, plain.Rows[r].Text, streamed.Rows[r].Text, want)
		}
		if len(ids[r]) != 48 || plain.Rows[r].StopReason != StopMaxTokens {
			t.Errorf("row %d: %d tokens, %v; want 48, max tokens", r, len(ids[r]), plain.Rows[r].StopReason)
		}
	}
}

// Stream gives the same events as GenerateFunc, and its Generation the same rows.
func TestGenerationStreamEqualsTheCallback(t *testing.T) {
	m := textModel(t)
	c := newTestContext(t, m, nil, len(textPrompts), 64)
	prompts := try(c.PromptsFromText(textPrompts...)).get(t)
	var want []TokenEvent
	full := try(c.GenerateFunc(context.Background(), prompts, greedy(20), func(e TokenEvent) bool {
		want = append(want, e)
		return true
	})).get(t)
	stream := try(c.Stream(context.Background(), prompts, greedy(20))).get(t)
	defer stream.Close()
	var got []TokenEvent
	for stream.Next() {
		got = append(got, stream.Event())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Stream events differ from GenerateFunc's:\n%v\n%v", got, want)
	}
	if !reflect.DeepEqual(stream.Generation(), full) {
		t.Errorf("Stream Generation %+v; GenerateFunc %+v", stream.Generation(), full)
	}
	if last := got[len(got)-1]; last.StopReason != StopMaxTokens {
		t.Errorf("the last event's stop reason is %v", last.StopReason)
	}
}

// A callback returning false stops the generation at once: the rows end with StopCallback after
// the tokens streamed so far, and the C generation has no more events.
func TestGenerationCallbackFalseStops(t *testing.T) {
	c := newTestContext(t, llama, nil, 1, 64)
	prompts := Prompts{IDs: [][]int32{{5, 6, 7}}}
	full := try(c.Generate(context.Background(), prompts, greedy(32))).get(t)
	events := 0
	g := try(c.GenerateFunc(context.Background(), prompts, greedy(32), func(TokenEvent) bool {
		events++
		return events < 3
	})).get(t)
	if events != 3 || !reflect.DeepEqual(g.Rows[0].IDs, full.Rows[0].IDs[:3]) || g.Rows[0].StopReason != StopCallback {
		t.Errorf("stopped after %d events with %v, %v; want 3 events, %v, callback", events, g.Rows[0].IDs,
			g.Rows[0].StopReason, full.Rows[0].IDs[:3])
	}
	if nativeGenerationRunning(t, c) {
		t.Error("the C generation still gives events")
	}
}

// Cancelling the Go context stops the generation before the next token and returns
// context.Canceled, from GenerateFunc and from a Stream; a context cancelled beforehand runs
// nothing.
func TestGenerationCancellation(t *testing.T) {
	c := newTestContext(t, llama, nil, 1, 64)
	prompts := Prompts{IDs: [][]int32{{5, 6, 7}}}
	ctx, cancel := context.WithCancel(context.Background())
	events := 0
	g, err := c.GenerateFunc(ctx, prompts, greedy(32), func(TokenEvent) bool {
		if events++; events == 2 {
			cancel()
		}
		return true
	})
	if !errors.Is(err, context.Canceled) || events != 2 || len(g.Rows[0].IDs) != 2 || g.Rows[0].StopReason != StopCallback {
		t.Errorf("GenerateFunc cancelled after 2 events: %d events, %+v, %v", events, g, err)
	}
	if nativeGenerationRunning(t, c) {
		t.Error("the C generation still gives events after GenerateFunc's cancellation")
	}

	ctx, cancel = context.WithCancel(context.Background())
	stream := try(c.Stream(ctx, prompts, greedy(32))).get(t)
	defer stream.Close()
	if !stream.Next() || !stream.Next() {
		t.Fatal(stream.Err())
	}
	cancel()
	if stream.Next() || !errors.Is(stream.Err(), context.Canceled) {
		t.Errorf("Next after cancel: err %v", stream.Err())
	}
	if n := len(stream.Generation().Rows[0].IDs); n != 2 {
		t.Errorf("the cancelled stream has %d tokens; want 2", n)
	}
	if nativeGenerationRunning(t, c) {
		t.Error("the C generation still gives events after the stream's cancellation")
	}
	if _, err := c.Generate(ctx, prompts, greedy(4)); !errors.Is(err, context.Canceled) {
		t.Errorf("Generate with a cancelled context: %v", err)
	}
}

// Leaving a stream early and closing it stops the C generation; the context then generates again
// from scratch.
func TestGenerationLeavingTheStreamStops(t *testing.T) {
	c := newTestContext(t, llama, nil, 1, 64)
	prompts := Prompts{IDs: [][]int32{{9, 8, 7, 6}}}
	full := try(c.Generate(context.Background(), prompts, greedy(16))).get(t)
	stream := try(c.Stream(context.Background(), prompts, greedy(16))).get(t)
	for i := 0; stream.Next(); i++ {
		if i == 4 {
			break
		}
	}
	if err := stream.Close(); err != nil {
		t.Fatal(err)
	}
	g := stream.Generation()
	if !reflect.DeepEqual(g.Rows[0].IDs, full.Rows[0].IDs[:5]) || g.Rows[0].StopReason != StopCallback {
		t.Errorf("the left stream: %+v; want the first 5 of %v, callback", g.Rows[0], full.Rows[0].IDs)
	}
	if nativeGenerationRunning(t, c) {
		t.Error("the C generation still gives events after Close")
	}
	if stream.Next() || stream.Err() != nil {
		t.Errorf("Next after Close: err %v", stream.Err())
	}
	again := try(c.Generate(context.Background(), prompts, greedy(16))).get(t)
	if !reflect.DeepEqual(again, full) {
		t.Errorf("generation after the left stream: %v; want %v", again, full)
	}
}

// A stream whose generation another call replaced ends with an error instead of reading the other
// call's events.
func TestGenerationStreamReplacedByAnotherCall(t *testing.T) {
	c := newTestContext(t, llama, nil, 1, 64)
	prompts := Prompts{IDs: [][]int32{{9, 8, 7, 6}}}
	stream := try(c.Stream(context.Background(), prompts, greedy(8))).get(t)
	defer stream.Close()
	if !stream.Next() {
		t.Fatal(stream.Err())
	}
	try(c.Generate(context.Background(), prompts, greedy(2))).get(t)
	if stream.Next() {
		t.Error("the replaced stream gave another event")
	}
	expectStatus(t, stream.Err(), StatusInvalidArgument)
}

// Each row of a batch of prompts of different lengths gets the tokens it gets alone, with the base
// model and with a prompt-tuning adapter (whose virtual tokens come before each row's prompt).
func TestGenerationBatchRowsEqualThePromptsAlone(t *testing.T) {
	adapter := newTestAdapter(t, smallAdapterOptions(3))
	for _, a := range []*Adapter{nil, adapter} {
		batch := newTestContext(t, llama, a, 3, 64)
		alone := newTestContext(t, llama, a, 1, 64)
		prompts := mixedPrompts()
		got := try(batch.Generate(context.Background(), prompts, greedy(24))).get(t)
		for r, prompt := range prompts.IDs {
			want := try(alone.Generate(context.Background(), Prompts{IDs: [][]int32{prompt}}, greedy(24))).get(t)
			if !reflect.DeepEqual(got.Rows[r], want.Rows[0]) {
				t.Errorf("adapter %v, row %d (length %d): batched %v; alone %v", a != nil, r, len(prompt),
					got.Rows[r].IDs, want.Rows[0].IDs)
			}
		}
	}
}

// The same seed gives the same sampled tokens, again on the same context and on eight goroutines
// with their own contexts at once; another seed gives others.
func TestGenerationSeededSamplingIsReproducible(t *testing.T) {
	sampling := func(seed uint64) *GenerateOptions {
		opts := greedy(32)
		opts.DoSample, opts.Temperature, opts.TopK, opts.TopP, opts.Seed = true, 1.5, 0, 0.95, seed
		return opts
	}
	prompts := mixedPrompts()
	c := newTestContext(t, llama, nil, 3, 64)
	want := try(c.Generate(context.Background(), prompts, sampling(11))).get(t)
	if again := try(c.Generate(context.Background(), prompts, sampling(11))).get(t); !reflect.DeepEqual(again, want) {
		t.Errorf("seed 11 twice: %v and %v", idsOf(want), idsOf(again))
	}
	if other := try(c.Generate(context.Background(), prompts, sampling(12))).get(t); reflect.DeepEqual(other, want) {
		t.Error("seeds 11 and 12 sampled the same tokens")
	}
	greedyIDs := try(c.Generate(context.Background(), prompts, greedy(32))).get(t)
	if reflect.DeepEqual(greedyIDs, want) {
		t.Error("sampling gave the greedy tokens")
	}
	var wg sync.WaitGroup
	results := make([]*Generation, 8)
	errs := make([]error, 8)
	for g := range results {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			own, err := NewContext(llama, nil, &ContextOptions{MaxBatchSize: 3, MaxLength: 64})
			if err != nil {
				errs[g] = err
				return
			}
			defer own.Close()
			results[g], errs[g] = own.Generate(context.Background(), prompts, sampling(11))
		}(g)
	}
	wg.Wait()
	for g := range results {
		if errs[g] != nil || !reflect.DeepEqual(results[g], want) {
			t.Errorf("goroutine %d: %v, %v; want %v", g, results[g], errs[g], idsOf(want))
		}
	}
}

// Stop ids end a row at their first occurrence (that token included, StopEOS); a stop string ends
// a row at the token whose text completes it (StopString).
func TestGenerationStopIDsAndStopStrings(t *testing.T) {
	m := textModel(t)
	c := newTestContext(t, m, nil, 1, 128)
	prompts := try(c.PromptsFromText(textPrompts[0])).get(t)
	var texts []string
	full := try(c.GenerateFunc(context.Background(), prompts, greedy(40), func(e TokenEvent) bool {
		texts = append(texts, e.Text)
		return true
	})).get(t)
	ids := full.Rows[0].IDs

	stopID := ids[5]
	first := 0
	for ids[first] != stopID {
		first++
	}
	opts := greedy(40)
	opts.StopIDs = []int32{stopID}
	g := try(c.Generate(context.Background(), prompts, opts)).get(t)
	if !reflect.DeepEqual(g.Rows[0].IDs, ids[:first+1]) || g.Rows[0].StopReason != StopEOS {
		t.Errorf("stop id %d: %v, %v; want %v, EOS", stopID, g.Rows[0].IDs, g.Rows[0].StopReason, ids[:first+1])
	}

	// The stop string: the text of a later stretch of tokens; the row must end at the first token
	// after which the joined texts contain it.
	// (Replacement characters left out: they stand for bytes, not for text.)
	stop := ""
	for k := len(texts) - 1; k > 0 && stop == ""; k-- {
		if joined := strings.Join(texts[k-1:k+1], ""); !strings.ContainsRune(joined, utf8.RuneError) {
			stop = joined
		}
	}
	if stop == "" {
		t.Fatalf("the greedy text has no two consecutive pieces with text: %q", texts)
	}
	end := 1
	for !strings.Contains(strings.Join(texts[:end], ""), stop) {
		end++
	}
	opts = greedy(40)
	// 70 stop strings: the binding passes any number, as the C API takes them.
	opts.StopStrings = []string{stop}
	for len(opts.StopStrings) < 70 {
		opts.StopStrings = append(opts.StopStrings, "never in this text \u2603"+strings.Repeat("!", len(opts.StopStrings)))
	}
	g = try(c.Generate(context.Background(), prompts, opts)).get(t)
	if !reflect.DeepEqual(g.Rows[0].IDs, ids[:end]) || g.Rows[0].StopReason != StopString {
		t.Errorf("stop string %q: %v, %v; want %v, stop string", stop, g.Rows[0].IDs, g.Rows[0].StopReason, ids[:end])
	}
}

// The model's EOS ids are config.json's eos_token_id (2 in both tiny llamas, no
// generation_config.json), and by default generation stops at them.
func TestGenerationStopsAtTheModelEOS(t *testing.T) {
	for _, m := range []*Model{llama, textModel(t)} {
		if got := try(m.EOSIDs()).get(t); !reflect.DeepEqual(got, []int32{2}) {
			t.Errorf("EOSIDs = %v; want [2]", got)
		}
	}
	// nil options: 32 tokens at most, stopping at id 2; so the row is the first 32 tokens of the
	// row generated without EOS, cut after its first 2.
	c := newTestContext(t, llama, nil, 1, 64)
	prompts := Prompts{IDs: [][]int32{{1, 2, 3}}}
	full := try(c.Generate(context.Background(), prompts, greedy(40))).get(t).Rows[0]
	withEOS := try(c.Generate(context.Background(), prompts, nil)).get(t).Rows[0]
	want := full.IDs[:32]
	reason := StopMaxTokens
	for i, id := range want {
		if id == 2 {
			want, reason = want[:i+1], StopEOS
			break
		}
	}
	if !reflect.DeepEqual(withEOS.IDs, want) || withEOS.StopReason != reason {
		t.Errorf("default options: %v, %v; want %v, %v", withEOS.IDs, withEOS.StopReason, want, reason)
	}
}

// A prompt-tuning adapter (random init) changes what the model generates on the same prompt.
func TestGenerationWithAnAdapterDiffers(t *testing.T) {
	adapter := newTestAdapter(t, smallAdapterOptions(5))
	prompts := Prompts{IDs: [][]int32{{10, 20, 30, 40}}}
	base := try(newTestContext(t, llama, nil, 1, 64).Generate(context.Background(), prompts, greedy(16))).get(t)
	tuned := try(newTestContext(t, llama, adapter, 1, 64).Generate(context.Background(), prompts, greedy(16))).get(t)
	if reflect.DeepEqual(base.Rows[0].IDs, tuned.Rows[0].IDs) {
		t.Errorf("the adapter generated the base model's tokens %v", base.Rows[0].IDs)
	}
	// The adapter's context keeps working after the adapter is closed (it holds a snapshot).
	c := newTestContext(t, llama, newTestAdapter(t, smallAdapterOptions(5)), 1, 64)
	c.Adapter().Close()
	if again := try(c.Generate(context.Background(), prompts, greedy(16))).get(t); !reflect.DeepEqual(again, tuned) {
		t.Errorf("after the adapter's Close: %v; want %v", again.Rows[0].IDs, tuned.Rows[0].IDs)
	}
}

// The default options are the C library's documented defaults.
func TestGenerationDefaultOptions(t *testing.T) {
	got := DefaultGenerateOptions()
	want := GenerateOptions{MaxNewTokens: 32, Temperature: 1, TopK: 50, TopP: 1, RepetitionPenalty: 1,
		UseModelEOS: true, SkipSpecialTokens: true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultGenerateOptions() = %+v; want %+v", got, want)
	}
	if got := DefaultContextOptions(); got != (ContextOptions{MaxBatchSize: 1, MaxLength: 512}) {
		t.Errorf("DefaultContextOptions() = %+v", got)
	}
}

// One context shared by four goroutines: their calls take turns (Generate holds the context for
// its whole generation), so each gets what it gets alone.
func TestGenerationSharedContextSerialisesCalls(t *testing.T) {
	c := newTestContext(t, llama, nil, 3, 64)
	prompts := mixedPrompts()
	want := try(c.Generate(context.Background(), prompts, greedy(16))).get(t)
	var wg sync.WaitGroup
	results := make([]*Generation, 4)
	errs := make([]error, 4)
	for g := range results {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 5 && errs[g] == nil; i++ {
				results[g], errs[g] = c.Generate(context.Background(), prompts, greedy(16))
				if errs[g] == nil && !reflect.DeepEqual(results[g], want) {
					return
				}
			}
		}(g)
	}
	wg.Wait()
	for g := range results {
		if errs[g] != nil || !reflect.DeepEqual(results[g], want) {
			t.Errorf("goroutine %d: %v, %v; want %v", g, results[g], errs[g], idsOf(want))
		}
	}
}
