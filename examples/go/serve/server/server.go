// Package server serves a softprompt model over HTTP with the standard library: POST /generate
// streams a generation as newline-delimited JSON, POST /score returns continuations'
// log-likelihoods, GET /adapters lists what is served. Each request names an adapter of the
// adapters folder (or none: the base model); the folder is watched, and adapters added, replaced
// or removed there are served, swapped or dropped without a restart, requests in flight finishing
// with the version they began with.
package server

import (
	"errors"
	"log"
	"net/http"
	"os"
	"sync"
	"time"

	"softprompt.dev/softprompt"
)

// Config configures New. Zero fields take the defaults given.
type Config struct {
	AdaptersFolder string        // required: the folder watched for adapters
	PollInterval   time.Duration // how often the folder is scanned; default 500 ms
	Workers        int           // generations and scorings run at once, each on its own contexts; default 2
	MaxBatch       int           // requests in one generation; default 8
	MaxLength      int           // prompt plus new tokens per request; default 512
	BatchWindow    time.Duration // how long a batch waits for more requests; default 5 ms
	Logger         *log.Logger   // default: log.Default()
}

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.AdaptersFolder == "" {
		return out, errors.New("server: Config.AdaptersFolder is required")
	}
	if info, err := os.Stat(out.AdaptersFolder); err != nil || !info.IsDir() {
		return out, errors.New("server: the adapters folder " + out.AdaptersFolder + " is not a folder")
	}
	defaultDuration(&out.PollInterval, 500*time.Millisecond)
	defaultDuration(&out.BatchWindow, 5*time.Millisecond)
	defaultInt(&out.Workers, 2)
	defaultInt(&out.MaxBatch, 8)
	defaultInt(&out.MaxLength, 512)
	if out.Logger == nil {
		out.Logger = log.Default()
	}
	return out, nil
}

func defaultDuration(d *time.Duration, value time.Duration) {
	if *d <= 0 {
		*d = value
	}
}

func defaultInt(n *int, value int) {
	if *n <= 0 {
		*n = value
	}
}

// Server is the service: the adapters, their watcher, the batching engine and the HTTP handlers.
type Server struct {
	config    Config
	model     *softprompt.Model
	tokenizer *softprompt.Tokenizer
	registry  *registry
	engine    *engine
	mux       *http.ServeMux

	stopWatching chan struct{}
	watcherDone  chan struct{}
	closeOnce    sync.Once
}

// New serves model (which needs a tokenizer.json in its folder, and stays the caller's: close it
// after Close) with the adapters of cfg.AdaptersFolder, loaded before New returns. Errors: the
// folder, the model's tokenizer, a context that cannot be created.
func New(model *softprompt.Model, cfg Config) (*Server, error) {
	config, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	tokenizer, err := model.Tokenizer()
	if err != nil {
		return nil, err
	}
	s := &Server{config: config, model: model, tokenizer: tokenizer, registry: newRegistry(),
		stopWatching: make(chan struct{}), watcherDone: make(chan struct{})}
	watcher := newWatcher(config.AdaptersFolder, model, s.registry, config.Logger)
	watcher.scan()
	if s.engine, err = newEngine(model, s.registry, &config, config.Logger); err != nil {
		s.registry.closeAll()
		tokenizer.Close()
		return nil, err
	}
	go watcher.run(config.PollInterval, s.stopWatching, s.watcherDone)
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/generate", s.handleGenerate)
	s.mux.HandleFunc("/score", s.handleScore)
	s.mux.HandleFunc("/adapters", s.handleAdapters)
	return s, nil
}

// Handler returns the HTTP handler of the three endpoints.
func (s *Server) Handler() http.Handler { return s.mux }

// Adapters returns what is served now, by name.
func (s *Server) Adapters() []AdapterStatus { return s.registry.list() }

// Close stops watching, fails queued requests, stops running generations and frees every context
// and adapter. Shut the http.Server down first so that no request is being admitted.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.stopWatching)
		<-s.watcherDone
		s.engine.close()
		s.registry.closeAll()
		s.tokenizer.Close()
	})
}
