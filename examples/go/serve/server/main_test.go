package server

// Shared set-up: the model, adapters written into a temporary adapters folder, a server on the
// loopback interface behind a real http.Server, a real http.Client, and the same generations and
// scorings computed directly through the binding to compare with. Run through ctest
// (ctest -R go_serve_example_tests), which writes the model and sets:
//
//	SP_SERVE_MODEL  the tiny llama with the gpt2 byte-level tokenizer (tokenizer_binding_reference
//	                fixture: model-with-tokenizer); its 256 ids are byte tokens

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"softprompt.dev/softprompt"
)

var model *softprompt.Model

func TestMain(m *testing.M) {
	folder := os.Getenv("SP_SERVE_MODEL")
	if folder == "" {
		fmt.Fprintln(os.Stderr, "SP_SERVE_MODEL must be set: run the tests with ctest -R go_serve_example_tests")
		os.Exit(2)
	}
	var err error
	if model, err = softprompt.Open(folder, nil); err != nil {
		fmt.Fprintln(os.Stderr, "cannot open the model:", err)
		os.Exit(1)
	}
	code := m.Run()
	model.Close()
	os.Exit(code)
}

// prompts encode, with the gpt2 tokenizer, to ids below 256 only, which the tiny model accepts.
var prompts = []string{"Q: 7+5=", "Hi!", "{[<1+2=3"}

// newAdapter creates an adapter closed when the test ends.
func newAdapter(t *testing.T, method softprompt.Method, numVirtualTokens int, seed uint64) *softprompt.Adapter {
	t.Helper()
	opts := softprompt.DefaultAdapterOptions()
	opts.Method, opts.NumVirtualTokens, opts.Seed = method, numVirtualTokens, seed
	a, err := softprompt.NewAdapter(model, &opts)
	if err != nil {
		t.Fatalf("NewAdapter: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// saveAdapter writes a into the adapters folder under name: a PEFT folder or a NAME.spa file,
// both saved atomically by the library.
func saveAdapter(t *testing.T, folder, name string, a *softprompt.Adapter, asFolder bool) {
	t.Helper()
	var err error
	if asFolder {
		err = a.Save(filepath.Join(folder, name))
	} else {
		err = a.SaveFile(filepath.Join(folder, name+AdapterFileSuffix))
	}
	if err != nil {
		t.Fatalf("save %s: %v", name, err)
	}
}

// logBuffer collects the server's log for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testServer is a Server behind an http.Server on 127.0.0.1, stopped when the test ends.
type testServer struct {
	*Server
	url    string
	client *http.Client
	log    *logBuffer
}

func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	logs := &logBuffer{}
	cfg.Logger = log.New(io.MultiWriter(logs, testLogWriter{t}), "", 0)
	s, err := New(model, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	httpServer := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go httpServer.Serve(listener)
	// One connection per concurrent request (the default keeps only two idle ones per host).
	client := &http.Client{Timeout: 60 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	t.Cleanup(func() {
		httpServer.Close()
		s.Close()
		client.CloseIdleConnections()
	})
	return &testServer{Server: s, url: "http://" + listener.Addr().String(), client: client, log: logs}
}

// testLogWriter shows the server's log with the test's output (go test -v).
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// generation is one /generate response as the client read it.
type generation struct {
	status int
	tokens []TokenEvent
	done   DoneEvent
	err    ErrorResponse // the body of a non-200 response
	lines  int           // lines of the body
}

func (g *generation) ids() []int32 {
	ids := make([]int32, len(g.tokens))
	for i, token := range g.tokens {
		ids[i] = token.TokenID
	}
	return ids
}

func (g *generation) text() string {
	var b strings.Builder
	for _, token := range g.tokens {
		b.WriteString(token.Text)
	}
	return b.String()
}

// greedyRequest asks for n tokens, greedily, not stopping at the model's EOS.
func greedyRequest(adapter, prompt string, n int) GenerateRequest {
	noEOS := false
	return GenerateRequest{Adapter: adapter, Prompt: prompt, MaxNewTokens: &n, UseModelEOS: &noEOS}
}

func post(s *testServer, path string, body any) (*http.Response, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return s.client.Post(s.url+path, "application/json", bytes.NewReader(data))
}

// generate posts req to /generate and reads the response line by line.
func (s *testServer) generate(req GenerateRequest) (*generation, error) {
	resp, err := post(s, "/generate", req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return readGeneration(resp)
}

func readGeneration(resp *http.Response) (*generation, error) {
	g := &generation{status: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		return g, json.NewDecoder(resp.Body).Decode(&g.err)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/x-ndjson" {
		return g, fmt.Errorf("Content-Type %q", got)
	}
	if !reflect.DeepEqual(resp.TransferEncoding, []string{"chunked"}) || resp.ContentLength != -1 {
		return g, fmt.Errorf("not a chunked stream: Transfer-Encoding %v, Content-Length %d",
			resp.TransferEncoding, resp.ContentLength)
	}
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		g.lines++
		if g.done.Done {
			return g, fmt.Errorf("a line after the done line: %s", lines.Text())
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(lines.Bytes(), &fields); err != nil {
			return g, fmt.Errorf("line %d is not JSON: %q", g.lines, lines.Text())
		}
		if _, isDone := fields["done"]; isDone {
			if err := json.Unmarshal(lines.Bytes(), &g.done); err != nil {
				return g, err
			}
			continue
		}
		var token TokenEvent
		if err := json.Unmarshal(lines.Bytes(), &token); err != nil {
			return g, err
		}
		g.tokens = append(g.tokens, token)
	}
	if err := lines.Err(); err != nil {
		return g, err
	}
	if !g.done.Done {
		return g, fmt.Errorf("the stream ended without a done line after %d lines", g.lines)
	}
	if g.done.Error != "" {
		return g, fmt.Errorf("the generation failed: %s (%s)", g.done.Error, g.done.Status)
	}
	if g.done.NumTokens != len(g.tokens) {
		return g, fmt.Errorf("done says %d tokens, %d came", g.done.NumTokens, len(g.tokens))
	}
	return g, nil
}

// direct is what the binding generates for prompt with adapter alone (nil: the base model),
// greedily: n tokens, not stopping at EOS.
func direct(t *testing.T, adapter *softprompt.Adapter, prompt string, n int) *softprompt.GeneratedRow {
	t.Helper()
	c, err := softprompt.NewContext(model, adapter, &softprompt.ContextOptions{MaxBatchSize: 1, MaxLength: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.PromptsFromText(prompt)
	if err != nil {
		t.Fatal(err)
	}
	opts := softprompt.DefaultGenerateOptions()
	opts.MaxNewTokens, opts.UseModelEOS = n, false
	g, err := c.Generate(context.Background(), p, &opts)
	if err != nil {
		t.Fatalf("Generate %q: %v", prompt, err)
	}
	return &g.Rows[0]
}

// waitFor polls cond every 5 ms until it holds, failing the test after timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// servedVersion is the adapter's version per GET /adapters (0: not served).
func (s *testServer) servedVersion(t *testing.T, name string) uint64 {
	t.Helper()
	resp, err := s.client.Get(s.url + "/adapters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Adapters []AdapterStatus }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	for _, a := range list.Adapters {
		if a.Name == name {
			return a.Version
		}
	}
	return 0
}
