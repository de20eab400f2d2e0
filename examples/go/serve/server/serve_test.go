package server

// /generate and /score against the binding called directly, concurrent clients, streaming, and the
// errors a client can cause.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"softprompt.dev/softprompt"
)

// servedAdapters writes three adapters of different methods and sizes into a new folder: "a"
// (prompt tuning, a file), "b" (prefix tuning, a PEFT folder), "c" (P-tuning, a file). The map
// also holds the base model under "".
func servedAdapters(t *testing.T) (string, map[string]*softprompt.Adapter) {
	folder := t.TempDir()
	adapters := map[string]*softprompt.Adapter{
		"":  nil,
		"a": newAdapter(t, softprompt.MethodPromptTuning, 4, 1),
		"b": newAdapter(t, softprompt.MethodPrefixTuning, 3, 2),
		"c": newAdapter(t, softprompt.MethodPTuning, 6, 3),
	}
	saveAdapter(t, folder, "a", adapters["a"], false)
	saveAdapter(t, folder, "b", adapters["b"], true)
	saveAdapter(t, folder, "c", adapters["c"], false)
	return folder, adapters
}

func TestConcurrentGenerationsEqualEachRequestAlone(t *testing.T) {
	folder, adapters := servedAdapters(t)
	const newTokens = 12
	names := []string{"a", "b", "c", ""}
	expected := map[string]*softprompt.GeneratedRow{}
	for _, name := range names {
		for _, prompt := range prompts {
			expected[name+"|"+prompt] = direct(t, adapters[name], prompt, newTokens)
		}
	}
	// The adapters must matter, or the comparison would not show that each request got its own.
	if reflect.DeepEqual(expected["a|"+prompts[0]].IDs, expected["|"+prompts[0]].IDs) &&
		reflect.DeepEqual(expected["b|"+prompts[0]].IDs, expected["|"+prompts[0]].IDs) {
		t.Fatal("the adapters generate what the base model does: choose other seeds")
	}

	s := startServer(t, Config{AdaptersFolder: folder, Workers: 2, MaxBatch: 4, BatchWindow: 20 * time.Millisecond})
	const clients, rounds = 16, 2
	var wg sync.WaitGroup
	failures := make(chan string, clients*rounds)
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for round := 0; round < rounds; round++ {
				name, prompt := names[i%len(names)], prompts[(i/len(names)+round)%len(prompts)]
				g, err := s.generate(greedyRequest(name, prompt, newTokens))
				want := expected[name+"|"+prompt]
				switch {
				case err != nil:
					failures <- fmt.Sprintf("%q %q: %v", name, prompt, err)
				case g.status != http.StatusOK:
					failures <- fmt.Sprintf("%q %q: status %d %+v", name, prompt, g.status, g.err)
				case !reflect.DeepEqual(g.ids(), want.IDs) || g.text() != want.Text:
					failures <- fmt.Sprintf("%q %q: ids %v text %q, alone %v %q", name, prompt, g.ids(), g.text(),
						want.IDs, want.Text)
				case g.lines != newTokens+1 || g.done.StopReason != "max_tokens" || g.done.Adapter != name:
					failures <- fmt.Sprintf("%q %q: %d lines, done %+v", name, prompt, g.lines, g.done)
				case (name == "") != (g.done.AdapterVersion == 0):
					failures <- fmt.Sprintf("%q %q: adapter_version %d", name, prompt, g.done.AdapterVersion)
				}
			}
		}(i)
	}
	wg.Wait()
	close(failures)
	for failure := range failures {
		t.Error(failure)
	}
	// Concurrent requests shared generations, rows of different adapters among them.
	stats := &s.engine.stats
	t.Logf("%d requests in %d generations; %d rows in batches of more than one, %d batches of mixed adapters",
		clients*rounds, stats.generations.Load(), stats.batchedRows.Load(), stats.mixedBatches.Load())
	if stats.mixedBatches.Load() == 0 {
		t.Error("no generation had rows of different adapters")
	}
}

// The first token's line reaches the client while the generation is held after that token: the
// response is streamed, not buffered.
func TestGenerationIsStreamed(t *testing.T) {
	folder, _ := servedAdapters(t)
	s := startServer(t, Config{AdaptersFolder: folder, Workers: 1})
	firstRead := make(chan struct{})
	var once sync.Once
	held := make(chan bool, 1)
	s.engine.afterEvent = func() {
		once.Do(func() {
			select {
			case <-firstRead:
				held <- true
			case <-time.After(10 * time.Second):
				held <- false
			}
		})
	}
	resp, err := post(s, "/generate", greedyRequest("a", prompts[0], 8))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	if !lines.Scan() {
		t.Fatalf("no first line: %v", lines.Err())
	}
	var first TokenEvent
	if err := json.Unmarshal(lines.Bytes(), &first); err != nil {
		t.Fatal(err)
	}
	close(firstRead)
	if !<-held {
		t.Fatal("the worker was not held at its first token")
	}
	count := 1
	for lines.Scan() {
		count++
	}
	if count != 8+1 {
		t.Fatalf("%d lines, want 8 tokens and the done line", count)
	}
}

func TestScoreEqualsContextScore(t *testing.T) {
	folder, adapters := servedAdapters(t)
	s := startServer(t, Config{AdaptersFolder: folder, MaxBatch: 2})
	tokenizer, err := model.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	defer tokenizer.Close()
	continuations := []string{"1", "Hi", "=", "{[<", "7+5"} // byte tokens only
	for _, name := range []string{"a", "b", "c", ""} {
		// Directly: the prompt once per continuation, encoded as the server documents.
		promptIDs, err := tokenizer.Encode(prompts[0], true)
		if err != nil {
			t.Fatal(err)
		}
		var p softprompt.Prompts
		var next [][]int32
		for _, text := range continuations {
			ids, err := tokenizer.Encode(text, false)
			if err != nil {
				t.Fatal(err)
			}
			p.IDs, next = append(p.IDs, promptIDs), append(next, ids)
		}
		c, err := softprompt.NewContext(model, adapters[name], &softprompt.ContextOptions{MaxBatchSize: 4, MaxLength: 64})
		if err != nil {
			t.Fatal(err)
		}
		want, err := c.Score(p, next)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}

		resp, err := post(s, "/score", ScoreRequest{Adapter: name, Prompt: prompts[0], Continuations: continuations})
		if err != nil {
			t.Fatal(err)
		}
		var got ScoreResponse
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%q: status %d, %v", name, resp.StatusCode, err)
		}
		if len(got.LogLikelihoods) != len(want) {
			t.Fatalf("%q: %d scores, want %d", name, len(got.LogLikelihoods), len(want))
		}
		for i := range want {
			if diff := math.Abs(float64(got.LogLikelihoods[i] - want[i])); diff > 1e-4*math.Abs(float64(want[i])) {
				t.Errorf("%q %q: %v, Context.Score %v", name, continuations[i], got.LogLikelihoods[i], want[i])
			}
			if !(want[i] < 0) {
				t.Errorf("%q %q: log-likelihood %v is not negative", name, continuations[i], want[i])
			}
		}
		if got.Adapter != name || (name == "") != (got.AdapterVersion == 0) {
			t.Errorf("%q: adapter %q version %d", name, got.Adapter, got.AdapterVersion)
		}
	}
}

func TestRequestErrors(t *testing.T) {
	folder, _ := servedAdapters(t)
	s := startServer(t, Config{AdaptersFolder: folder, MaxLength: 40})
	tooMany := 40
	sampled, zero := true, float32(0)
	cases := []struct {
		name, path, body string
		request          any // marshalled when body is ""
		status           int
		message, library string // in the error's message; the library's status name
	}{
		{name: "unknown adapter", path: "/generate", request: greedyRequest("nope", "Hi!", 4),
			status: http.StatusNotFound, message: `unknown adapter "nope"`},
		{name: "unknown adapter to score", path: "/score",
			request: ScoreRequest{Adapter: "nope", Prompt: "Hi!", Continuations: []string{"1"}},
			status:  http.StatusNotFound, message: `unknown adapter "nope"`},
		{name: "malformed JSON", path: "/generate", body: `{"prompt": "Hi!"`, status: http.StatusBadRequest,
			message: "malformed request"},
		{name: "unknown field", path: "/generate", body: `{"prompt": "Hi!", "max_tokens": 3}`,
			status: http.StatusBadRequest, message: `unknown field "max_tokens"`},
		{name: "two objects", path: "/score", body: `{"prompt": "Hi!"} {}`, status: http.StatusBadRequest,
			message: "data after the JSON object"},
		{name: "empty prompt", path: "/generate", request: greedyRequest("a", "", 4), status: http.StatusBadRequest,
			message: "prompt is empty"},
		{name: "empty prompt to score", path: "/score", request: ScoreRequest{Continuations: []string{"1"}},
			status: http.StatusBadRequest, message: "prompt is empty"},
		{name: "no continuations", path: "/score", request: ScoreRequest{Prompt: "Hi!"}, status: http.StatusBadRequest,
			message: "continuations is empty"},
		{name: "no new tokens", path: "/generate", body: `{"prompt": "Hi!", "max_new_tokens": 0}`,
			status: http.StatusBadRequest, message: "max_new_tokens"},
		// The library's refusals, with its status and message.
		{name: "sampling at temperature 0", path: "/generate",
			request: GenerateRequest{Adapter: "a", Prompt: "Hi!", DoSample: &sampled, Temperature: &zero},
			status:  http.StatusBadRequest, message: "temperature", library: "SP_ERR_INVALID_ARGUMENT"},
		{name: "longer than the cache", path: "/generate", request: greedyRequest("b", "Hi!", tooMany),
			status: http.StatusBadRequest, library: "SP_ERR_OUT_OF_RANGE"},
		{name: "ids outside the vocabulary", path: "/generate", request: greedyRequest("", "ééé", 4),
			status: http.StatusBadRequest, library: "SP_ERR_OUT_OF_RANGE"},
		{name: "continuation outside the vocabulary", path: "/score",
			request: ScoreRequest{Adapter: "c", Prompt: "Hi!", Continuations: []string{"1", "ééé"}},
			status:  http.StatusBadRequest, message: "continuations[1][0] = 496", library: "SP_ERR_OUT_OF_RANGE"},
		{name: "empty continuation", path: "/score",
			request: ScoreRequest{Prompt: "Hi!", Continuations: []string{""}}, status: http.StatusBadRequest,
			library: "SP_ERR_INVALID_ARGUMENT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var resp *http.Response
			var err error
			if c.body != "" {
				resp, err = s.client.Post(s.url+c.path, "application/json", strings.NewReader(c.body))
			} else {
				resp, err = post(s, c.path, c.request)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body ErrorResponse
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("status %d, body not an error object: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != c.status || !strings.Contains(body.Error, c.message) || body.Status != c.library {
				t.Fatalf("status %d %+v, want %d with %q and status %q", resp.StatusCode, body, c.status,
					c.message, c.library)
			}
		})
	}
	resp, err := s.client.Get(s.url + "/generate")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /generate: status %d", resp.StatusCode)
	}
}

// A request the library refuses, batched with good ones, fails alone: the batch is run again row by
// row.
func TestBadRequestInABatchFailsAlone(t *testing.T) {
	folder, adapters := servedAdapters(t)
	s := startServer(t, Config{AdaptersFolder: folder, Workers: 1, MaxBatch: 4, BatchWindow: 200 * time.Millisecond})
	want := direct(t, adapters["a"], prompts[1], 6)
	results := make([]*generation, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			prompt := prompts[1]
			if i == 2 {
				prompt = "ééé" // ids beyond the tiny model's vocabulary, with the same options
			}
			results[i], errs[i] = s.generate(greedyRequest("a", prompt, 6))
		}(i)
	}
	wg.Wait()
	for i, g := range results {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if i == 2 {
			if g.status != http.StatusBadRequest || g.err.Status != "SP_ERR_OUT_OF_RANGE" {
				t.Errorf("the bad request: status %d %+v", g.status, g.err)
			}
		} else if g.status != http.StatusOK || !reflect.DeepEqual(g.ids(), want.IDs) {
			t.Errorf("request %d: status %d ids %v, want %v", i, g.status, g.ids(), want.IDs)
		}
	}
	if s.engine.stats.splitBatches.Load() == 0 {
		t.Error("the requests were not batched together (no batch was split)")
	}
}
