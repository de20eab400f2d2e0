package server

import (
	"fmt"

	"softprompt.dev/softprompt"
)

// How a worker gives each row its adapter: a context created with that adapter (its soft prompt is
// snapshotted at NewContext), so the rows of one generation share one adapter version. A worker
// keeps the contexts of the versions it served last (maxCachedContexts) and closes those of
// retired versions; the context without adapter serves the base model.

// maxCachedContexts bounds the adapter contexts a worker keeps (each holds its own cache).
const maxCachedContexts = 8

// routeKey is what the rows of one batch must have in common besides their options: the version.
func routeKey(version *loaded) string { return fmt.Sprintf("%p", version) }

type workerContexts struct {
	model     *softprompt.Model
	opts      softprompt.ContextOptions
	base      *softprompt.Context
	byVersion map[*loaded]*cachedContext
	clock     uint64 // counts prepare calls, for least-recently-used eviction
}

type cachedContext struct {
	context  *softprompt.Context
	lastUsed uint64
}

func newWorkerContexts(model *softprompt.Model, opts softprompt.ContextOptions) (*workerContexts, error) {
	base, err := softprompt.NewContext(model, nil, &opts)
	if err != nil {
		return nil, err
	}
	return &workerContexts{model: model, opts: opts, base: base, byVersion: map[*loaded]*cachedContext{}}, nil
}

// prepare returns the context for rows (which share one version: routeKey) and their prompts, row
// i being promptOf(rows[i]). The rows' leases keep their version's handle open meanwhile.
func (w *workerContexts) prepare(rows []*job, promptOf func(*job) []int32) (*softprompt.Context, softprompt.Prompts, error) {
	prompts := softprompt.Prompts{IDs: make([][]int32, len(rows)), TaskIDs: make([]int32, len(rows))}
	for i, j := range rows {
		prompts.IDs[i], prompts.TaskIDs[i] = promptOf(j), j.taskID
	}
	version := rows[0].version
	if version == nil {
		return w.base, prompts, nil
	}
	w.clock++
	if cached, ok := w.byVersion[version]; ok {
		cached.lastUsed = w.clock
		return cached.context, prompts, nil
	}
	w.evict()
	c, err := softprompt.NewContext(w.model, version.adapter, &w.opts)
	if err != nil {
		return nil, prompts, err
	}
	w.byVersion[version] = &cachedContext{context: c, lastUsed: w.clock}
	return c, prompts, nil
}

// evict closes the contexts of retired versions, and the least recently used one while the cache
// is full.
func (w *workerContexts) evict() {
	for version, cached := range w.byVersion {
		if version.retired.Load() {
			cached.context.Close()
			delete(w.byVersion, version)
		}
	}
	for len(w.byVersion) >= maxCachedContexts {
		var oldest *loaded
		for version, cached := range w.byVersion {
			if oldest == nil || cached.lastUsed < w.byVersion[oldest].lastUsed {
				oldest = version
			}
		}
		w.byVersion[oldest].context.Close()
		delete(w.byVersion, oldest)
	}
}

func (w *workerContexts) close() {
	for version, cached := range w.byVersion {
		cached.context.Close()
		delete(w.byVersion, version)
	}
	w.base.Close()
}
