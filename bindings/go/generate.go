package softprompt

import "context"

// TokenEvent is one generated token, as streamed.
type TokenEvent struct {
	Row     int   // the prompt's index in Prompts
	TokenID int32 // the id generated
	// Text is the UTF-8 text this token completes: the row's text grows by exactly these bytes.
	// Never part of a character: bytes that do not yet form whole characters are held back and
	// come with a later token (with the row's last token, an unfinished character is given as
	// U+FFFD, as Tokenizer.Decode gives it). Often empty; always empty when the model folder has
	// no tokenizer.
	Text string
	// StopReason is StopNone while the row goes on; otherwise this is the row's last token.
	StopReason StopReason
}

// Generation is what a generation produced, row by row (in the order of the prompts).
type Generation struct {
	Rows []GeneratedRow
}

// GeneratedRow is one prompt's result. The prompt itself is not part of it.
type GeneratedRow struct {
	IDs        []int32    // the tokens generated (a stopping end-of-sequence id included)
	Text       string     // their text: the events' texts joined (empty without a tokenizer)
	StopReason StopReason // StopNone only when the generation was cut short by an error
}

// Generate generates up to opts.MaxNewTokens tokens after each prompt, all rows in one batch, and
// returns every row's tokens and text. opts nil means DefaultGenerateOptions(). ctx is checked
// between tokens: its cancellation stops the generation and returns ctx.Err() with the tokens so
// far. Errors: StatusInvalidArgument (an empty prompt, options out of range, stop strings without a
// tokenizer), StatusOutOfRange (ids or task ids outside their range, more prompts than
// MaxBatchSize, a prompt plus MaxNewTokens longer than MaxLength), StatusUnsupported.
func (c *Context) Generate(ctx context.Context, prompts Prompts, opts *GenerateOptions) (*Generation, error) {
	return c.GenerateFunc(ctx, prompts, opts, nil)
}

// GenerateFunc is Generate that calls onToken with each token as it comes (row by row within a
// step), on the calling goroutine. onToken returning false stops every row at once (their
// StopReason becomes StopCallback); that is not an error. onToken must not call into the same
// context. A nil onToken streams nothing.
func (c *Context) GenerateFunc(ctx context.Context, prompts Prompts, opts *GenerateOptions,
	onToken func(TokenEvent) bool) (*Generation, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, err := c.begin(ctx, &prompts, opts)
	if err != nil {
		return nil, err
	}
	for {
		event, ok, err := r.next()
		if err != nil {
			return r.generation(), err
		}
		if !ok {
			return r.generation(), nil
		}
		if onToken != nil && !onToken(event) {
			err := r.stop() // first: it records StopCallback in the rows still running
			return r.generation(), err
		}
	}
}

// Stream begins a generation and returns its events one at a time, for a loop:
//
//	stream, err := c.Stream(ctx, prompts, opts)
//	if err != nil { ... }
//	defer stream.Close() // stops the generation if the loop ends early
//	for stream.Next() {
//		fmt.Print(stream.Event().Text)
//	}
//	if err := stream.Err(); err != nil { ... }
//
// The prompts are run by Stream itself (its errors are Generate's); each Next computes one step
// when the previous step's events are used up. ctx is checked before each token: its
// cancellation stops the generation and Err returns ctx.Err(). Leaving the loop early and closing
// the stream stops the generation. Other calls on the context may run between two Next calls;
// one that replaces the cache (another generation, Prefill, Reset) ends this stream with an error.
func (c *Context) Stream(ctx context.Context, prompts Prompts, opts *GenerateOptions) (*Stream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, err := c.begin(ctx, &prompts, opts)
	if err != nil {
		return nil, err
	}
	return &Stream{run: r}, nil
}

// Stream is a generation pulled one token event at a time (see Context.Stream). A Stream is used
// by one goroutine.
type Stream struct {
	run   *run
	event TokenEvent
	err   error
	ended bool
}

// Next moves to the next token event and reports whether there is one: false once every row has
// stopped, the stream was closed, ctx was cancelled or a call failed (Err says which).
func (s *Stream) Next() bool {
	if s.ended {
		return false
	}
	c := s.run.context
	c.mu.Lock()
	defer c.mu.Unlock()
	event, ok, err := s.run.next()
	if err != nil || !ok {
		s.ended, s.err = true, err
		return false
	}
	s.event = event
	return true
}

// Event is the token event Next moved to.
func (s *Stream) Event() TokenEvent { return s.event }

// Err is the error that ended the stream: nil when every row stopped (or the stream was closed),
// ctx.Err() when ctx was cancelled, an *Error when a call failed.
func (s *Stream) Err() error { return s.err }

// Generation returns the rows so far: every row's tokens and text once Next has returned false.
func (s *Stream) Generation() *Generation { return s.run.generation() }

// Close stops the generation if it is still running (its rows end with StopCallback). Closing
// twice, or after the last event, is a no-op.
func (s *Stream) Close() error {
	if s.ended {
		return nil
	}
	s.ended = true
	c := s.run.context
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.run.epoch != c.epoch {
		return nil // another call replaced this generation already
	}
	return s.run.stop()
}

// run is one generation in progress: the C context's pull calls (begin, next, stop) with the
// results gathered per row. Its methods are called with the context's mu held.
type run struct {
	context *Context
	ctx     context.Context
	epoch   uint64 // the context's epoch when this generation began
	rows    []GeneratedRow
	texts   [][]byte // per row, the text so far
	ids     []int32  // spb_context_generate_next's row, token id and stop reason
	text    []byte   // the event text buffer, grown when a text does not fit
	done    bool
}

// eventTextGuess is the first size of the event text buffer: a token's text is rarely longer.
const eventTextGuess = 64

// begin checks ctx and the options and runs the prompts (sp_context_generate_begin).
func (c *Context) begin(ctx context.Context, prompts *Prompts, opts *GenerateOptions) (*run, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	ids, lengths := prompts.flat()
	stopIDs, stopStrings := opts.stopIDs(), opts.joinedStopStrings()
	c.epoch++
	err := c.promptsCall(prompts, func(h Sp_context, adapters []uintptr) Enum_SS_sp_status {
		return Spb_context_generate_begin(h, ids, lengths, prompts.TaskIDs, adapters, opts, stopIDs, stopStrings)
	})
	if err != nil {
		return nil, err
	}
	return &run{context: c, ctx: ctx, epoch: c.epoch, rows: make([]GeneratedRow, len(lengths)),
		texts: make([][]byte, len(lengths)), ids: make([]int32, 3), text: make([]byte, eventTextGuess)}, nil
}

// next returns the next event (false when every row has stopped). A cancelled ctx stops the C
// generation and returns ctx.Err().
func (r *run) next() (TokenEvent, bool, error) {
	if r.done {
		return TokenEvent{}, false, nil
	}
	if r.epoch != r.context.epoch {
		r.done = true
		return TokenEvent{}, false, newError(StatusInvalidArgument,
			"the generation was replaced by another call on the Context (a generation, Prefill or Reset)")
	}
	if err := r.ctx.Err(); err != nil {
		if stopErr := r.stop(); stopErr != nil {
			return TokenEvent{}, false, stopErr
		}
		return TokenEvent{}, false, err
	}
	var size int64
	has, err := handleCall(&r.context.object, func(h Sp_context) (bool, bool) {
		switch Spb_context_generate_next(h, r.ids) {
		case 0:
			return false, true
		case 1:
		default:
			return false, false
		}
		size = Spb_context_event_text(h, r.text)
		if size >= int64(len(r.text)) {
			r.text = make([]byte, size+1)
			size = Spb_context_event_text(h, r.text)
		}
		return true, size >= 0 && size < int64(len(r.text))
	})
	if err != nil || !has {
		r.done = true
		return TokenEvent{}, false, err
	}
	event := TokenEvent{Row: int(r.ids[0]), TokenID: r.ids[1], Text: string(r.text[:size]),
		StopReason: StopReason(r.ids[2])}
	if event.Row < 0 || event.Row >= len(r.rows) {
		r.done = true
		return TokenEvent{}, false, newError(StatusInternal, "a token event of a row the generation does not have")
	}
	row := &r.rows[event.Row]
	row.IDs = append(row.IDs, event.TokenID)
	r.texts[event.Row] = append(r.texts[event.Row], event.Text...)
	row.StopReason = event.StopReason
	return event, true, nil
}

// stop ends the C generation (sp_context_generate_stop); the rows still running end with
// StopCallback, as the library records them.
func (r *run) stop() error {
	if r.done {
		return nil
	}
	r.done = true
	for i := range r.rows {
		if r.rows[i].StopReason == StopNone {
			r.rows[i].StopReason = StopCallback
		}
	}
	return r.context.statusCall(Spb_context_generate_stop)
}

// generation is a copy of the rows so far.
func (r *run) generation() *Generation {
	g := &Generation{Rows: make([]GeneratedRow, len(r.rows))}
	for i, row := range r.rows {
		g.Rows[i] = GeneratedRow{IDs: append([]int32{}, row.IDs...), Text: string(r.texts[i]),
			StopReason: row.StopReason}
	}
	return g
}
