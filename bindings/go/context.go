package softprompt

import (
	"runtime"
	"sync"
)

// Context is where text comes out: it runs a Model, with an Adapter's soft prompt or without one,
// token by token, with its own key/value cache (allocated once, by NewContext), its sampler state
// and its random generators. Generate, GenerateFunc and Stream generate; Score gives
// log-likelihoods; Prefill and Decode are the low-level steps for custom decoding.
//
// Any number of contexts may run on one model in parallel goroutines. One context serves one call
// at a time: calls from several goroutines are serialised (a Stream takes its turn at each Next).
//
// The adapter's contribution is snapshotted when the context is created: training the adapter
// afterwards does not change this context (create a new one to use the new values). The context
// keeps its model and adapter snapshot alive, so closing them first is safe.
//
// Encoder-decoder models (ModelInfo.IsEncoderDecoder, T5; the base model or a TaskSeq2SeqLM
// adapter): a prompt is the encoder's input, and the tokens generated are the decoder's, starting
// after ModelInfo.DecoderStartTokenID (which is not returned). Prefill returns the decoder's
// first-step logits. Score is refused (StatusUnsupported): the loss of a continuation is EvalLoss
// with it as the decoder's labels.
type Context struct {
	object[Sp_context]
	model     *Model   // keep the Go objects reachable for as long as the context is
	adapter   *Adapter // nil: the base model alone
	vocabSize int      // the model's: logits are rows * vocabSize values

	// tokenizer is the model folder's, taken when the context was created (nil with tokenizerErr
	// saying why when the folder has none): it encodes text prompts.
	tokenizer    *Tokenizer
	tokenizerErr error

	// mu gives the cache to one call at a time. A Stream holds it only during each Next, so epoch
	// counts the calls that replace the cache's contents (each generation, Prefill, Reset): a
	// stream whose generation was replaced by another call ends with an error instead of reading
	// the other call's events.
	mu    sync.Mutex
	epoch uint64
}

// Prompts are the inputs of one generation, scoring or prefill: one slice of token ids per
// prompt, of any lengths (no padding: each row is computed as it would be alone).
type Prompts struct {
	IDs     [][]int32 // each prompt's ids, at least one each, in [0, vocab size)
	TaskIDs []int32   // one task per prompt: required by multitask prompt tuning adapters, else nil

	// Adapters gives each prompt its own adapter, replacing the context's for that row (a nil entry:
	// the base model), any mix of methods and virtual-token counts in one batch; nil = the context's
	// adapter for every row. Each row gets the tokens, scores and logits it would get alone on a
	// context of its adapter. Each adapter must belong to the context's model
	// (StatusInvalidArgument otherwise); another length is StatusShapeMismatch, a closed adapter
	// StatusInvalidHandle. The call takes each adapter's compiled prompt when it begins: training or
	// closing the adapter meanwhile changes nothing for it.
	Adapters []*Adapter
}

// flat is p as spb_* takes it: every prompt's ids one after another, and their lengths.
func (p *Prompts) flat() (ids, lengths []int32) {
	total := 0
	for _, prompt := range p.IDs {
		total += len(prompt)
	}
	ids = make([]int32, 0, total)
	lengths = make([]int32, len(p.IDs))
	for i, prompt := range p.IDs {
		ids = append(ids, prompt...)
		lengths[i] = int32(len(prompt))
	}
	return ids, lengths
}

// promptsCall makes one call on c's live handle with the prompts' adapters held (withAdapters): f
// passes h and adapters, the prompts' adapters' handles (nil: the context's adapter for every row).
func (c *Context) promptsCall(prompts *Prompts, f func(h Sp_context, adapters []uintptr) Enum_SS_sp_status) error {
	return withAdapters(prompts.Adapters, func(adapters []uintptr) error {
		return c.statusCall(func(h Sp_context) Enum_SS_sp_status { return f(h, adapters) })
	})
}

// NewContext creates a context on m, with adapter's soft prompt, or with none when adapter is
// nil. The adapter must belong to m. opts nil means DefaultContextOptions(). Errors:
// StatusInvalidArgument (an adapter of another model, sizes out of range), StatusOutOfRange
// (MaxLength beyond a model's learned positions), StatusOutOfMemory.
func NewContext(m *Model, adapter *Adapter, opts *ContextOptions) (*Context, error) {
	if m == nil {
		return nil, newError(StatusInvalidArgument, "the Model is nil")
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	var adapterHandle Sp_adapter = SwigcptrSp_adapter(0)
	if adapter != nil {
		h, err := adapter.acquire()
		if err != nil {
			return nil, err
		}
		defer adapter.release()
		adapterHandle = h
	}
	handle, err := handleCall(&m.object, func(model Sp_model) (Sp_context, bool) {
		return created(Spb_context_create(model, adapterHandle, opts))
	})
	runtime.KeepAlive(adapter)
	if err != nil {
		return nil, err
	}
	c := &Context{object: newObject(handle, "Context"), model: m, adapter: adapter, vocabSize: m.info.VocabSize}
	runtime.SetFinalizer(c, (*Context).Close)
	// The model's tokenizer, if its folder has one (else the reason, for PromptsFromText).
	c.tokenizer, c.tokenizerErr = m.Tokenizer()
	return c, nil
}

// Close releases the context and its cache. Closing twice is a no-op; calls after Close return an
// error with StatusInvalidHandle.
func (c *Context) Close() error {
	c.close(Sp_context_free)
	if c.tokenizer != nil {
		c.tokenizer.Close()
	}
	runtime.SetFinalizer(c, nil)
	return nil
}

// Model returns the model the context runs.
func (c *Context) Model() *Model { return c.model }

// Adapter returns the adapter the context was created with, or nil.
func (c *Context) Adapter() *Adapter { return c.adapter }

// Reset forgets the cache's contents and ends any generation in progress (a Stream on it ends
// with an error). The cache stays allocated.
func (c *Context) Reset() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	return c.statusCall(Sp_context_reset)
}

// PromptsFromText encodes texts with the model's tokenizer (its special tokens added, as
// transformers' tokenizer(text) does) into Prompts, one per text. StatusNotFound when the model
// folder has no tokenizer.json; a token the model's vocabulary lacks is reported by the call the
// prompts go to (StatusOutOfRange).
func (c *Context) PromptsFromText(texts ...string) (Prompts, error) {
	if _, err := c.acquire(); err != nil {
		return Prompts{}, err
	}
	c.release()
	if c.tokenizer == nil {
		return Prompts{}, c.tokenizerErr
	}
	prompts := Prompts{IDs: make([][]int32, len(texts))}
	for i, text := range texts {
		ids, err := c.tokenizer.Encode(text, true)
		if err != nil {
			return Prompts{}, err
		}
		prompts.IDs[i] = ids
	}
	return prompts, nil
}

// EOSIDs returns the ids that end generation for this model (GenerateOptions.UseModelEOS):
// generation_config.json's eos_token_id (one id or a list) in the model folder, else
// config.json's, else the tokenizer's eos token; ids outside the vocabulary are left out.
func (m *Model) EOSIDs() ([]int32, error) {
	ids := make([]int32, 4)
	count, err := handleCall(&m.object, func(h Sp_model) (int64, bool) {
		n := Spb_model_eos_ids(h, ids)
		if n > int64(len(ids)) {
			ids = make([]int32, n)
			n = Spb_model_eos_ids(h, ids)
		}
		return n, n >= 0 && n <= int64(len(ids))
	})
	if err != nil {
		return nil, err
	}
	return ids[:count:count], nil
}
