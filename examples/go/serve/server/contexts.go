package server

import (
	"softprompt.dev/softprompt"
)

// How a worker gives each row its adapter: one context without adapter per worker, and each
// prompt's adapter named in Prompts.Adapters (the serving API: any mix of adapters, methods and
// virtual-token counts in one generation, each row computed as it would be alone on a context of
// its adapter, to float32 round-off). A call takes each adapter's compiled prompt when it begins,
// so a version's lease only has to last until then; the engine keeps it to the job's end.
type workerContext struct {
	context *softprompt.Context
}

func newWorkerContext(model *softprompt.Model, opts softprompt.ContextOptions) (*workerContext, error) {
	c, err := softprompt.NewContext(model, nil, &opts)
	if err != nil {
		return nil, err
	}
	return &workerContext{context: c}, nil
}

// prepare returns the worker's context and the rows' prompts, row i being promptOf(rows[i]) with
// rows[i]'s adapter version (nil: the base model). The rows' leases keep the handles open.
func (w *workerContext) prepare(rows []*job, promptOf func(*job) []int32) (*softprompt.Context, softprompt.Prompts) {
	prompts := softprompt.Prompts{IDs: make([][]int32, len(rows)), TaskIDs: make([]int32, len(rows)),
		Adapters: make([]*softprompt.Adapter, len(rows))}
	for i, j := range rows {
		prompts.IDs[i], prompts.TaskIDs[i] = promptOf(j), j.taskID
		if j.version != nil {
			prompts.Adapters[i] = j.version.adapter
		}
	}
	return w.context, prompts
}

func (w *workerContext) close() { w.context.Close() }
