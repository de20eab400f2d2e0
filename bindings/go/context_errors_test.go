package softprompt

// Bad input to contexts is an *Error with the library's status and a message, never a crash; a
// closed context answers StatusInvalidHandle; a context outlives its closed model.

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestContextBadInputIsAnError(t *testing.T) {
	bg := context.Background()
	c := newTestContext(t, llama, nil, 2, 16)
	one := Prompts{IDs: [][]int32{{1, 2, 3, 4}}}
	// 4 new tokens: every prompt below fits MaxLength 16 unless the case is about that.
	withOptions := func(set func(*GenerateOptions)) *GenerateOptions {
		opts := DefaultGenerateOptions()
		opts.MaxNewTokens = 4
		set(&opts)
		return &opts
	}
	four := withOptions(func(*GenerateOptions) {})
	cases := []struct {
		name    string
		prompts Prompts
		opts    *GenerateOptions
		status  Status
	}{
		{"no prompts", Prompts{}, four, StatusInvalidArgument},
		{"an empty prompt", Prompts{IDs: [][]int32{{1, 2}, {}}}, four, StatusInvalidArgument},
		{"id 256 (vocabulary 256)", Prompts{IDs: [][]int32{{1, 256}}}, four, StatusOutOfRange},
		{"id -1", Prompts{IDs: [][]int32{{-1}}}, four, StatusOutOfRange},
		{"3 prompts, MaxBatchSize 2", Prompts{IDs: [][]int32{{1}, {2}, {3}}}, four, StatusOutOfRange},
		{"4 + 13 tokens, MaxLength 16", one, withOptions(func(o *GenerateOptions) { o.MaxNewTokens = 13 }), StatusOutOfRange},
		{"MaxNewTokens 0", one, withOptions(func(o *GenerateOptions) { o.MaxNewTokens = 0 }), StatusInvalidArgument},
		{"TopP 1.5", one, withOptions(func(o *GenerateOptions) { o.DoSample, o.TopP = true, 1.5 }), StatusInvalidArgument},
		{"stop strings without a tokenizer", one, withOptions(func(o *GenerateOptions) { o.StopStrings = []string{"x"} }),
			StatusInvalidArgument},
		{"a stop string with NUL", one, withOptions(func(o *GenerateOptions) { o.StopStrings = []string{"a\x00b"} }),
			StatusInvalidArgument},
		{"70 stop strings, all empty (refused by the library)", one,
			withOptions(func(o *GenerateOptions) { o.StopStrings = make([]string, 70) }), StatusInvalidArgument},
		{"MaxNewTokens beyond 32 bits", one, withOptions(func(o *GenerateOptions) { o.MaxNewTokens = 1 << 40 }),
			StatusInvalidArgument},
	}
	for _, tc := range cases {
		_, err := c.Generate(bg, tc.prompts, tc.opts)
		expectStatus(t, err, tc.status)
		_, err = c.Stream(bg, tc.prompts, tc.opts)
		expectStatus(t, err, tc.status)
		if err != nil && !strings.HasPrefix(err.Error(), "softprompt: SP_") {
			t.Errorf("%s: message %q", tc.name, err)
		}
		t.Logf("%s: %v", tc.name, err)
	}
	// 4 + 12 fits exactly.
	if g, err := c.Generate(bg, one, withOptions(func(o *GenerateOptions) { o.MaxNewTokens, o.UseModelEOS = 12, false })); err != nil || len(g.Rows[0].IDs) != 12 {
		t.Errorf("4 + 12 tokens in MaxLength 16: %v, %v", g, err)
	}
	_, err := c.Score(one, [][]int32{{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}})
	expectStatus(t, err, StatusOutOfRange)
	// Counts that disagree are StatusShapeMismatch, as for batches.
	_, err = c.Score(Prompts{IDs: [][]int32{{1}, {2}}}, [][]int32{{1}})
	expectStatus(t, err, StatusShapeMismatch)
	_, err = c.Prefill(Prompts{IDs: [][]int32{{300}}})
	expectStatus(t, err, StatusOutOfRange)
	_, err = c.PromptsFromText("x")
	expectStatus(t, err, StatusNotFound)

	fresh := newTestContext(t, llama, nil, 1, 16)
	_, err = fresh.Decode([]int32{1})
	expectStatus(t, err, StatusInvalidArgument)
	try(fresh.Prefill(one)).get(t)
	_, err = fresh.Decode([]int32{1, 2})
	expectStatus(t, err, StatusInvalidArgument)
	_, err = fresh.Decode([]int32{256})
	expectStatus(t, err, StatusOutOfRange)

	// Still usable after its errors.
	if _, err := c.Generate(bg, one, greedy(4)); err != nil {
		t.Errorf("Generate after errors: %v", err)
	}
}

func TestNewContextBadInputIsAnError(t *testing.T) {
	_, err := NewContext(nil, nil, nil)
	expectStatus(t, err, StatusInvalidArgument)
	_, err = NewContext(llama, nil, &ContextOptions{MaxBatchSize: 0, MaxLength: 16})
	expectStatus(t, err, StatusInvalidArgument)
	_, err = NewContext(llama, nil, &ContextOptions{MaxBatchSize: 1, MaxLength: 0})
	expectStatus(t, err, StatusInvalidArgument)
	other := try(Open(filepath.Join(testModels, "llama"), nil)).get(t)
	defer other.Close()
	foreign := try(NewAdapter(other, ptr(smallAdapterOptions(1)))).get(t)
	defer foreign.Close()
	_, err = NewContext(llama, foreign, nil)
	expectStatus(t, err, StatusInvalidArgument)
	gpt2 := try(Open(filepath.Join(testModels, "gpt2"), nil)).get(t)
	defer gpt2.Close()
	info := try(gpt2.Info()).get(t)
	_, err = NewContext(gpt2, nil, &ContextOptions{MaxBatchSize: 1, MaxLength: info.MaxPositionEmbeddings + 1})
	expectStatus(t, err, StatusOutOfRange)
}

// Every method of a closed context is StatusInvalidHandle; a stream of a context closed meanwhile
// ends with that error; closing twice is a no-op.
func TestContextUseAfterCloseIsAnError(t *testing.T) {
	bg := context.Background()
	c := try(NewContext(llama, nil, nil)).get(t)
	one := Prompts{IDs: [][]int32{{1, 2, 3}}}
	stream := try(c.Stream(bg, one, greedy(8))).get(t)
	c.Close()
	c.Close()
	if stream.Next() {
		t.Error("a stream of a closed context gave an event")
	}
	expectStatus(t, stream.Err(), StatusInvalidHandle)
	calls := map[string]func() error{
		"Generate": func() error { _, err := c.Generate(bg, one, nil); return err },
		"GenerateFunc": func() error {
			_, err := c.GenerateFunc(bg, one, nil, func(TokenEvent) bool { return true })
			return err
		},
		"Stream":          func() error { _, err := c.Stream(bg, one, nil); return err },
		"Score":           func() error { _, err := c.Score(one, [][]int32{{4}}); return err },
		"Prefill":         func() error { _, err := c.Prefill(one); return err },
		"Decode":          func() error { _, err := c.Decode([]int32{4}); return err },
		"Reset":           func() error { return c.Reset() },
		"PromptsFromText": func() error { _, err := c.PromptsFromText("x"); return err },
	}
	for name, call := range calls {
		err := call()
		expectStatus(t, err, StatusInvalidHandle)
		if err != nil && !strings.Contains(err.Error(), "Context is closed") {
			t.Errorf("%s: message %v", name, err)
		}
	}
}

// A context keeps its model alive: closing the Model first leaves the context working, with the
// same tokens.
func TestContextOutlivesItsModel(t *testing.T) {
	model := try(Open(filepath.Join(testModels, "llama"), nil)).get(t)
	c := try(NewContext(model, nil, nil)).get(t)
	defer c.Close()
	prompts := Prompts{IDs: [][]int32{{7, 7, 7}}}
	want := try(c.Generate(context.Background(), prompts, greedy(8))).get(t)
	model.Close()
	got := try(c.Generate(context.Background(), prompts, greedy(8))).get(t)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after the model's Close: %v; want %v", got, want)
	}
	try(c.Score(prompts, [][]int32{{1}})).get(t)
}

// Reset ends a stream in progress, and the context generates as before afterwards.
func TestContextReset(t *testing.T) {
	c := newTestContext(t, llama, nil, 1, 32)
	prompts := Prompts{IDs: [][]int32{{3, 1, 4, 1, 5}}}
	want := try(c.Generate(context.Background(), prompts, greedy(8))).get(t)
	stream := try(c.Stream(context.Background(), prompts, greedy(8))).get(t)
	defer stream.Close()
	if !stream.Next() {
		t.Fatal(stream.Err())
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if stream.Next() {
		t.Error("the stream gave an event after Reset")
	}
	if nativeGenerationRunning(t, c) {
		t.Error("the C generation gives events after Reset")
	}
	if got := try(c.Generate(context.Background(), prompts, greedy(8))).get(t); !reflect.DeepEqual(got, want) {
		t.Errorf("after Reset: %v; want %v", got, want)
	}
}
