package softprompt

// Score returns the log-likelihood of each continuation after its prompt, in nats: the sum over the
// continuation's tokens of log p(token | the prompt, the continuation's earlier tokens, the soft
// prompt). continuations holds one slice per prompt (the prompt's task id applies). Multiple
// choice: give the question once per answer and compare; classification: give the label words
// as continuations. Each pair is computed as if alone, MaxBatchSize pairs at a time; the cache is
// not used and keeps its contents. Errors: as Generate (each prompt plus its continuation must fit
// in MaxLength), StatusUnsupported for an encoder-decoder model.
func (c *Context) Score(prompts Prompts, continuations [][]int32) ([]float32, error) {
	ids, lengths := prompts.flat()
	next, nextLengths := (&Prompts{IDs: continuations}).flat()
	out := make([]float32, len(lengths))
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.promptsCall(&prompts, func(h Sp_context, adapters []uintptr) Enum_SS_sp_status {
		return Spb_context_score(h, ids, lengths, prompts.TaskIDs, adapters, next, nextLengths, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Prefill runs the prompts into the cache (replacing its contents, and ending any generation in
// progress) and returns each row's next-token logits: len(prompts.IDs) * vocab size values, row
// by row. For custom decoding (beam search, constraints) together with Decode.
func (c *Context) Prefill(prompts Prompts) ([]float32, error) {
	ids, lengths := prompts.flat()
	logits := make([]float32, len(lengths)*c.vocabSize)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	err := c.promptsCall(&prompts, func(h Sp_context, adapters []uintptr) Enum_SS_sp_status {
		return Spb_context_prefill(h, ids, lengths, prompts.TaskIDs, adapters, logits)
	})
	if err != nil {
		return nil, err
	}
	return logits, nil
}

// Decode appends one token per row (ids: one per row of the latest Prefill) to the cache and
// returns the next-token logits, len(ids) * vocab size values. Errors: StatusInvalidArgument (no
// Prefill since creation or Reset, a count other than its rows), StatusOutOfRange (ids, or a row
// that would pass MaxLength).
func (c *Context) Decode(ids []int32) ([]float32, error) {
	logits := make([]float32, len(ids)*c.vocabSize)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	err := c.statusCall(func(h Sp_context) Enum_SS_sp_status { return Spb_context_decode(h, ids, logits) })
	if err != nil {
		return nil, err
	}
	return logits, nil
}

// ProcessLogits applies opts' logits processors to one row of logits in place, as generation
// applies them: the repetition penalty over the ids in history (the row's tokens so far), then,
// with DoSample, Temperature, TopK, TopP and MinP (removed tokens become -Inf). opts nil means
// DefaultGenerateOptions(); its StopIDs and StopStrings play no part. For callers that sample
// themselves. Errors: StatusInvalidArgument (options out of range, no logits), StatusOutOfRange
// (history ids outside [0, len(logits))).
func ProcessLogits(opts *GenerateOptions, history []int32, logits []float32) error {
	if err := opts.checkScalars(); err != nil {
		return err
	}
	return callStatus(func() Enum_SS_sp_status { return Spb_logits_process(opts, history, logits) })
}
