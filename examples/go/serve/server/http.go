package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"softprompt.dev/softprompt"
)

// GenerateRequest is the body of POST /generate. Absent options take DefaultGenerateOptions'
// values, except MaxNewTokens (default 32).
type GenerateRequest struct {
	Adapter           string   `json:"adapter"` // a served adapter's name; "" or absent: the base model
	Prompt            string   `json:"prompt"`  // encoded with the model's tokenizer, special tokens added
	MaxNewTokens      *int     `json:"max_new_tokens,omitempty"`
	DoSample          *bool    `json:"do_sample,omitempty"`
	Temperature       *float32 `json:"temperature,omitempty"`
	TopK              *int     `json:"top_k,omitempty"`
	TopP              *float32 `json:"top_p,omitempty"`
	MinP              *float32 `json:"min_p,omitempty"`
	RepetitionPenalty *float32 `json:"repetition_penalty,omitempty"`
	Seed              *uint64  `json:"seed,omitempty"`
	Stop              []string `json:"stop,omitempty"`          // stop strings
	UseModelEOS       *bool    `json:"use_model_eos,omitempty"` // default true
	TaskID            int32    `json:"task_id,omitempty"`       // multitask prompt tuning adapters
}

// TokenEvent is one line of a /generate response per generated token: the text it completes
// (often empty while a character's bytes are incomplete; the texts joined are the generated text)
// and its id.
type TokenEvent struct {
	Text    string `json:"text"`
	TokenID int32  `json:"token_id"`
}

// DoneEvent is the last line of a /generate response. Error is set when the generation failed after
// the response had begun (StopReason is then empty).
type DoneEvent struct {
	Done           bool   `json:"done"`
	StopReason     string `json:"stop_reason,omitempty"` // max_tokens, eos, stop_string
	Adapter        string `json:"adapter"`
	AdapterVersion uint64 `json:"adapter_version"` // the registry's load count of the adapter (0: base model)
	NumTokens      int    `json:"num_tokens"`
	Error          string `json:"error,omitempty"`
	Status         string `json:"status,omitempty"`
}

// ScoreRequest is the body of POST /score: log p(continuation | prompt) for each continuation.
type ScoreRequest struct {
	Adapter       string   `json:"adapter"`
	Prompt        string   `json:"prompt"`        // encoded with the special tokens added
	Continuations []string `json:"continuations"` // each encoded without special tokens
	TaskID        int32    `json:"task_id,omitempty"`
}

// ScoreResponse is the body of a successful /score.
type ScoreResponse struct {
	LogLikelihoods []float32 `json:"log_likelihoods"` // nats, one per continuation
	Adapter        string    `json:"adapter"`
	AdapterVersion uint64    `json:"adapter_version"`
}

// ErrorResponse is the body of every 4xx and 5xx response: the message, and the library's status
// name when the library refused the request.
type ErrorResponse struct {
	Error  string `json:"error"`
	Status string `json:"status,omitempty"`
}

// defaultMaxNewTokens is /generate's when the request gives none.
const defaultMaxNewTokens = 32

// maxRequestBytes bounds a request body.
const maxRequestBytes = 1 << 20

// StopReasonName is the stop_reason of a DoneEvent.
func StopReasonName(r softprompt.StopReason) string {
	switch r {
	case softprompt.StopMaxTokens:
		return "max_tokens"
	case softprompt.StopEOS:
		return "eos"
	case softprompt.StopString:
		return "stop_string"
	default:
		return "cancelled"
	}
}

func (s *Server) handleGenerate(w http.ResponseWriter, r *http.Request) {
	var req GenerateRequest
	if !readRequest(w, r, &req) {
		return
	}
	opts := softprompt.DefaultGenerateOptions()
	opts.MaxNewTokens = defaultMaxNewTokens
	setIf(&opts.MaxNewTokens, req.MaxNewTokens)
	setIf(&opts.DoSample, req.DoSample)
	setIf(&opts.Temperature, req.Temperature)
	setIf(&opts.TopK, req.TopK)
	setIf(&opts.TopP, req.TopP)
	setIf(&opts.MinP, req.MinP)
	setIf(&opts.RepetitionPenalty, req.RepetitionPenalty)
	setIf(&opts.Seed, req.Seed)
	setIf(&opts.UseModelEOS, req.UseModelEOS)
	opts.StopStrings = req.Stop
	if opts.MaxNewTokens < 1 {
		writeError(w, http.StatusBadRequest, "max_new_tokens must be at least 1", "")
		return
	}
	ids, ok := s.encodePrompt(w, req.Prompt)
	if !ok {
		return
	}
	j := &job{ctx: r.Context(), ids: ids, taskID: req.TaskID, opts: opts,
		events: make(chan event, opts.MaxNewTokens+1)}
	if !s.admit(w, j, req.Adapter) {
		return
	}

	// The status line waits for the first event, so that a request the library refuses gets its
	// 4xx; after it, an error can only be reported in the stream's last line.
	var first event
	select {
	case first = <-j.events:
	case <-r.Context().Done():
		return
	}
	if first.Err != nil {
		writeLibraryError(w, first.Err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	encoder := json.NewEncoder(w)
	encoder.SetEscapeHTML(false)
	done := DoneEvent{Done: true, Adapter: req.Adapter, AdapterVersion: versionNumber(j.version)}
	for e := first; ; {
		if e.Err != nil {
			done.Error, done.Status = e.Err.Error(), statusName(e.Err)
			encoder.Encode(done)
			return
		}
		done.NumTokens++
		if encoder.Encode(TokenEvent{Text: e.Text, TokenID: e.TokenID}) != nil {
			return // the client went away; the worker notices its context
		}
		if e.Stop != softprompt.StopNone {
			done.StopReason = StopReasonName(e.Stop)
			encoder.Encode(done)
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case e = <-j.events:
		case <-r.Context().Done():
			return
		}
	}
}

func (s *Server) handleScore(w http.ResponseWriter, r *http.Request) {
	var req ScoreRequest
	if !readRequest(w, r, &req) {
		return
	}
	if len(req.Continuations) == 0 {
		writeError(w, http.StatusBadRequest, "continuations is empty", "")
		return
	}
	ids, ok := s.encodePrompt(w, req.Prompt)
	if !ok {
		return
	}
	continuations := make([][]int32, len(req.Continuations))
	for i, text := range req.Continuations {
		var err error
		if continuations[i], err = s.tokenizer.Encode(text, false); err != nil {
			writeLibraryError(w, err)
			return
		}
	}
	j := &job{ctx: r.Context(), ids: ids, taskID: req.TaskID, continuations: continuations,
		scores: make(chan scoreResult, 1)}
	if !s.admit(w, j, req.Adapter) {
		return
	}
	select {
	case result := <-j.scores:
		if result.err != nil {
			writeLibraryError(w, result.err)
			return
		}
		writeJSON(w, http.StatusOK, ScoreResponse{LogLikelihoods: result.values, Adapter: req.Adapter,
			AdapterVersion: versionNumber(j.version)})
	case <-r.Context().Done():
	}
}

func (s *Server) handleAdapters(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "use GET", "")
		return
	}
	writeJSON(w, http.StatusOK, map[string][]AdapterStatus{"adapters": s.registry.list()})
}

// encodePrompt encodes a request's prompt (400 when it is empty or not valid UTF-8).
func (s *Server) encodePrompt(w http.ResponseWriter, prompt string) ([]int32, bool) {
	if prompt == "" {
		writeError(w, http.StatusBadRequest, "prompt is empty", "")
		return nil, false
	}
	ids, err := s.tokenizer.Encode(prompt, true)
	if err != nil {
		writeLibraryError(w, err)
		return nil, false
	}
	return ids, true
}

// admit leases the adapter's current version for j and queues it (404 for an unknown adapter,
// 503 while shutting down).
func (s *Server) admit(w http.ResponseWriter, j *job, adapter string) bool {
	version, ok := s.registry.acquire(adapter)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown adapter %q", adapter), "")
		return false
	}
	j.version = version
	if !s.engine.submit(j) {
		s.registry.release(version)
		writeError(w, http.StatusServiceUnavailable, errClosing.Error(), "")
		return false
	}
	return true
}

// readRequest decodes a POST body into v: 405 for another method, 400 for malformed JSON,
// unknown fields or trailing data.
func readRequest(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "use POST", "")
		return false
	}
	decoder := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	decoder.DisallowUnknownFields()
	err := decoder.Decode(v)
	if err == nil && decoder.Decode(&struct{}{}) != io.EOF {
		err = errors.New("data after the JSON object")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed request: "+err.Error(), "")
		return false
	}
	return true
}

func setIf[T any](field *T, value *T) {
	if value != nil {
		*field = *value
	}
}

func versionNumber(version *loaded) uint64 {
	if version == nil {
		return 0
	}
	return version.version
}

// writeLibraryError answers with the library's message and the HTTP status of its sp_status:
// the request's fault (bad values, ids outside the vocabulary, too long) 400, a missing thing 404,
// out of memory 503, anything else 500.
func writeLibraryError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	var libraryErr *softprompt.Error
	if errors.As(err, &libraryErr) {
		switch libraryErr.Status {
		case softprompt.StatusInvalidArgument, softprompt.StatusOutOfRange, softprompt.StatusShapeMismatch,
			softprompt.StatusUnsupported:
			code = http.StatusBadRequest
		case softprompt.StatusNotFound:
			code = http.StatusNotFound
		case softprompt.StatusOutOfMemory:
			code = http.StatusServiceUnavailable
		}
	} else if errors.Is(err, errClosing) {
		code = http.StatusServiceUnavailable
	}
	writeError(w, code, err.Error(), statusName(err))
}

func statusName(err error) string {
	var libraryErr *softprompt.Error
	if errors.As(err, &libraryErr) {
		return libraryErr.Status.String()
	}
	return ""
}

func writeError(w http.ResponseWriter, code int, message, status string) {
	writeJSON(w, code, ErrorResponse{Error: message, Status: status})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
