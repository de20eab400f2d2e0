package server

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"softprompt.dev/softprompt"
)

// job is one admitted request: a generation or a scoring. The engine owns it from the moment it is
// queued and calls finish exactly once, which ends its adapter lease.
type job struct {
	ctx     context.Context // the HTTP request's: done when the client goes away
	version *loaded         // leased; nil: the base model
	ids     []int32         // the prompt
	taskID  int32           // multitask prompt tuning's task (ignored by the other methods)

	// A generation: its options (MaxNewTokens its own) and its events, buffered for every token
	// and one terminal event, so that a worker never waits for a slow client.
	opts   softprompt.GenerateOptions
	events chan event

	// A scoring: the continuations and the one result.
	continuations [][]int32
	scores        chan scoreResult

	finished bool
}

// event is one message from a worker to the request's handler: a token (Stop set on the row's
// last one), or Err, which ends the request.
type event struct {
	Text    string
	TokenID int32
	Stop    softprompt.StopReason
	Err     error
}

type scoreResult struct {
	values []float32
	err    error
}

func (j *job) isScore() bool { return j.scores != nil }

// engine batches queued jobs and runs the batches on a fixed pool of workers, each with its own
// context on the one shared model.
//
// A dispatcher gathers requests into batches: greedy generations with the same options (except
// MaxNewTokens), whatever their adapters, share one generation of up to MaxBatch rows, each row
// with its own adapter (contexts.go), the batch's longest MaxNewTokens, each row cut at its own;
// generation computes each row as it would be alone, so batching does not change a response. It waits up to BatchWindow after a batch's first request for more, and keeps adding
// compatible requests while every worker is busy. Sampled generations run alone (a row's random
// draws depend on its row index) and so does each scoring. A batch that the library refuses before
// its first token (one request's bad ids or options) is run again request by request, so that only
// the faulty request fails, with the library's message.
type engine struct {
	model     *softprompt.Model
	registry  *registry
	maxBatch  int
	maxLength int
	window    time.Duration
	logger    *log.Logger

	queue   chan *job
	batches chan []*job
	stop    chan struct{} // closed by close: no more jobs
	done    sync.WaitGroup
	serving context.Context // cancelled when the engine closes: stops running generations
	cancel  context.CancelFunc

	stats      engineStats
	afterEvent func() // tests: called by a worker after each event it sends
}

// engineStats counts what the batching did (for the tests).
type engineStats struct {
	generations  atomic.Int64 // generations run (a split batch's rows counted again)
	batchedRows  atomic.Int64 // rows of generations that had more than one
	mixedBatches atomic.Int64 // generations whose rows had more than one adapter version
	splitBatches atomic.Int64 // batches refused before their first token and run row by row
}

func newEngine(model *softprompt.Model, reg *registry, cfg *Config, logger *log.Logger) (*engine, error) {
	e := &engine{model: model, registry: reg, maxBatch: cfg.MaxBatch, maxLength: cfg.MaxLength,
		window: cfg.BatchWindow, logger: logger, queue: make(chan *job), batches: make(chan []*job),
		stop: make(chan struct{})}
	e.serving, e.cancel = context.WithCancel(context.Background())
	workers := make([]*worker, 0, cfg.Workers)
	for i := 0; i < cfg.Workers; i++ {
		w, err := e.newWorker()
		if err != nil {
			for _, started := range workers {
				started.close()
			}
			return nil, err
		}
		workers = append(workers, w)
	}
	e.done.Add(1 + len(workers))
	go e.dispatch()
	for _, w := range workers {
		go w.run()
	}
	return e, nil
}

// submit queues j; false when the client went away or the engine is closing (j not queued: the
// caller still holds its lease).
func (e *engine) submit(j *job) bool {
	select {
	case e.queue <- j:
		return true
	case <-j.ctx.Done():
		return false
	case <-e.stop:
		return false
	}
}

// close stops the engine: queued jobs fail, running generations stop, workers free their
// contexts. Callers stop submitting first (http.Server.Shutdown).
func (e *engine) close() {
	close(e.stop)
	e.cancel()
	e.done.Wait()
}

var errClosing = errors.New("the server is shutting down")

// finish ends j: err as its terminal event (nil: it had its last event already), then its lease.
func (e *engine) finish(j *job, err error) {
	if j.finished {
		return
	}
	j.finished = true
	if j.isScore() {
		if err != nil {
			j.scores <- scoreResult{err: err}
		}
	} else if err != nil {
		j.events <- event{Err: err}
	}
	e.registry.release(j.version)
}

// dispatch forms batches from the queue and hands them to the workers.
func (e *engine) dispatch() {
	defer e.done.Done()
	defer close(e.batches)
	var pending []*job // queued requests that did not fit the batch being formed
	for {
		var b *batch
		if len(pending) > 0 {
			b, pending = e.newBatch(pending[0]), pending[1:]
			kept := pending[:0]
			for _, j := range pending {
				if !b.add(j) {
					kept = append(kept, j)
				}
			}
			pending = kept
		} else {
			select {
			case j := <-e.queue:
				b = e.newBatch(j)
			case <-e.stop:
				return
			}
		}
		// Wait up to the window for more rows, then until a worker takes the batch.
		window := time.NewTimer(e.window)
		for waiting := true; waiting && !b.full(); {
			select {
			case j := <-e.queue:
				if !b.add(j) {
					pending = append(pending, j)
				}
			case <-window.C:
				waiting = false
			case <-e.stop:
				window.Stop()
				e.fail(append(b.jobs, pending...))
				return
			}
		}
		window.Stop()
		for handed := false; !handed; {
			queue := e.queue
			if b.full() {
				queue = nil // full: stop reading; submitters wait (back pressure)
			}
			select {
			case e.batches <- b.jobs:
				handed = true
			case j := <-queue:
				if !b.add(j) {
					pending = append(pending, j)
				}
			case <-e.stop:
				e.fail(append(b.jobs, pending...))
				return
			}
		}
	}
}

// fail ends jobs that will not run (shutdown). Their handlers see errClosing.
func (e *engine) fail(jobs []*job) {
	for _, j := range jobs {
		e.finish(j, errClosing)
	}
}

// batch is a batch being formed.
type batch struct {
	engine    *engine
	jobs      []*job
	key       string // what the rows share; "" for a job that runs alone
	maxPrompt int
	maxNew    int
}

func (e *engine) newBatch(first *job) *batch {
	b := &batch{engine: e, jobs: []*job{first}, key: e.batchKey(first), maxPrompt: len(first.ids),
		maxNew: first.opts.MaxNewTokens}
	return b
}

// batchKey says which jobs may share a generation: "" for one that runs alone (a scoring, a
// sampled generation), else the options other than MaxNewTokens (the adapters may differ).
func (e *engine) batchKey(j *job) string {
	if j.isScore() || j.opts.DoSample {
		return ""
	}
	opts := j.opts
	opts.MaxNewTokens = 0
	return fmt.Sprintf("%+v", opts)
}

func (b *batch) full() bool { return b.key == "" || len(b.jobs) >= b.engine.maxBatch }

// add takes j if it may share the batch and the rows still fit the cache: the longest prompt plus
// the most new tokens within MaxLength.
func (b *batch) add(j *job) bool {
	if b.full() || b.engine.batchKey(j) != b.key {
		return false
	}
	maxPrompt, maxNew := max(b.maxPrompt, len(j.ids)), max(b.maxNew, j.opts.MaxNewTokens)
	if maxPrompt+maxNew > b.engine.maxLength {
		return false
	}
	b.jobs, b.maxPrompt, b.maxNew = append(b.jobs, j), maxPrompt, maxNew
	return true
}

func max(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// worker runs batches one at a time on its own context.
type worker struct {
	engine  *engine
	context *workerContext
}

func (e *engine) newWorker() (*worker, error) {
	c, err := newWorkerContext(e.model, softprompt.ContextOptions{MaxBatchSize: e.maxBatch, MaxLength: e.maxLength})
	if err != nil {
		return nil, err
	}
	return &worker{engine: e, context: c}, nil
}

func (w *worker) run() {
	defer w.engine.done.Done()
	defer w.close()
	for jobs := range w.engine.batches {
		live := jobs[:0]
		for _, j := range jobs {
			if j.ctx.Err() != nil {
				w.engine.finish(j, j.ctx.Err()) // the client left while queued
			} else {
				live = append(live, j)
			}
		}
		switch {
		case len(live) == 0:
		case live[0].isScore():
			w.score(live[0])
		default:
			w.generate(live)
		}
	}
}

func (w *worker) close() { w.context.close() }

// generate runs one generation for the rows and sends each row its events.
func (w *worker) generate(rows []*job) {
	e := w.engine
	c, prompts := w.context.prepare(rows, func(j *job) []int32 { return j.ids })
	opts := rows[0].opts
	for _, j := range rows {
		opts.MaxNewTokens = max(opts.MaxNewTokens, j.opts.MaxNewTokens)
	}
	e.stats.generations.Add(1)
	if len(rows) > 1 {
		e.stats.batchedRows.Add(int64(len(rows)))
		for _, j := range rows[1:] {
			if j.version != rows[0].version {
				e.stats.mixedBatches.Add(1)
				break
			}
		}
	}
	counts := make([]int, len(rows))
	ended := make([]bool, len(rows)) // the row had its last token
	delivered := false
	stillWanted := func() bool {
		for i, j := range rows {
			if !ended[i] && j.ctx.Err() == nil {
				return true
			}
		}
		return false
	}
	_, err := c.GenerateFunc(e.serving, prompts, &opts, func(token softprompt.TokenEvent) bool {
		i := token.Row
		if ended[i] {
			return stillWanted() // past this row's own MaxNewTokens
		}
		delivered = true
		j := rows[i]
		counts[i]++
		stop := token.StopReason
		if stop == softprompt.StopNone && counts[i] == j.opts.MaxNewTokens {
			stop = softprompt.StopMaxTokens
		}
		j.events <- event{Text: token.Text, TokenID: token.TokenID, Stop: stop}
		if stop != softprompt.StopNone {
			ended[i] = true
		}
		if e.afterEvent != nil {
			e.afterEvent()
		}
		return stillWanted()
	})
	if err != nil && !delivered && len(rows) > 1 && isLibraryError(err) {
		// Refused before any token: find the faulty request by running each alone.
		e.stats.splitBatches.Add(1)
		for _, j := range rows {
			w.generate([]*job{j})
		}
		return
	}
	for i, j := range rows {
		if !ended[i] {
			if err == nil {
				j.events <- event{Stop: softprompt.StopCallback} // the client left; nobody reads it
			}
			e.finish(j, err)
			continue
		}
		e.finish(j, nil)
	}
}

// score runs one scoring: the prompt once per continuation.
func (w *worker) score(j *job) {
	e := w.engine
	c, prompts := w.context.prepare(repeatJob(j, len(j.continuations)), func(*job) []int32 { return j.ids })
	values, err := c.Score(prompts, j.continuations)
	if err == nil {
		j.scores <- scoreResult{values: values}
	}
	e.finish(j, err)
}

func repeatJob(j *job, n int) []*job {
	rows := make([]*job, n)
	for i := range rows {
		rows[i] = j
	}
	return rows
}

// isLibraryError reports whether err is the C library's (not a cancellation).
func isLibraryError(err error) bool {
	var libraryErr *softprompt.Error
	return errors.As(err, &libraryErr)
}
